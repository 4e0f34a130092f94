/**
 * Errors raised by the geometry core. Callers catch these by class; each
 * carries the GEOS reason and the feature id(s) involved when known.
 */
import type { FeatureId } from "./flat_geometry.ts";

/** The input is not a usable geometry (empty, NaN, unclosed ring, too few points, invalid topology). */
export class InvalidGeometryError extends TypeError {
  override name = "InvalidGeometryError";
  /** GEOS-style reason, e.g. `"Ring Self-intersection[-93.2 44.9]"` or `"Ring is not closed"`. */
  readonly reason: string;
  readonly featureId: FeatureId | undefined;
  constructor(reason: string, featureId?: FeatureId) {
    super(`Invalid geometry${featureId === undefined ? "" : ` "${featureId}"`}: ${reason}`);
    this.reason = reason;
    this.featureId = featureId;
  }
}

/** A GEOS operation failed on valid-looking inputs (GEOS raised an exception and returned its failure value). */
export class GeometryOperationError extends Error {
  override name = "GeometryOperationError";
  /** The core operation, e.g. `"intersection"`. */
  readonly operation: string;
  /** GEOS's message, e.g. `"TopologyException: side location conflict at ..."`. */
  readonly reason: string;
  /** Ids of the features involved, when the geometries carried ids. */
  readonly featureIds: FeatureId[];
  constructor(operation: string, reason: string, featureIds: FeatureId[] = []) {
    const ids = featureIds.length ? ` on features ${featureIds.map((id) => `"${id}"`).join(", ")}` : "";
    super(`GEOS ${operation} failed${ids}: ${reason.replace(/\.+$/, "")}. Repair the inputs with makeValid and retry`);
    this.operation = operation;
    this.reason = reason;
    this.featureIds = featureIds;
  }
}

/** GEOS raised a TopologyException (typically an invalid input polygon); `makeValid` on the inputs repairs it. */
export class TopologyError extends GeometryOperationError {
  override name = "TopologyError";
}

/** Builds the right operation error for a GEOS message. */
export function operationError(operation: string, reason: string, featureIds: FeatureId[]): GeometryOperationError {
  return /TopologyException/.test(reason)
    ? new TopologyError(operation, reason, featureIds)
    : new GeometryOperationError(operation, reason, featureIds);
}
