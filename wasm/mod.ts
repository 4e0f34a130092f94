/**
 * The geometry core: GEOS (geos-wasm) behind a small typed API built for throughput.
 *
 * @example
 * ```ts
 * const core = await loadGeometryCore(modules); // once per isolate
 * using county = core.fromFlat(feature.geometry, { id: feature.id });
 * const prepared = county.prepared();           // freed with `county`
 * for (const i of index.search(...county.bounds())) if (prepared.intersectsXY(x[i], y[i])) count++;
 * ```
 */
import type { FeatureId, FlatFeature, FlatGeometry } from "./flat_geometry.ts";
import type { GeosWasmModules } from "./loader.ts";
import { type GeosRuntime, loadRuntime } from "./core.ts";
import { InvalidGeometryError } from "./errors.ts";
import { buildGeometry, checkStructure, closeAndPadRings } from "./flat_in.ts";
import { flatFromGeoJSON, type GeoJSONGeometry } from "./geojson.ts";
import { Geometry } from "./geometry.ts";
import { dwithin } from "./ops/dwithin.ts";
import { VALID_REASON } from "./ops/validity.ts";

export type { FeatureId, FlatFeature, FlatGeometry, GeometryKind } from "./flat_geometry.ts";
export { compareFeatureIds } from "./flat_geometry.ts";
export type { GeosWasmModules } from "./loader.ts";
export { GeometryOperationError, InvalidGeometryError, TopologyError } from "./errors.ts";
export { Geometry, PreparedGeometry } from "./geometry.ts";
export { flatFromGeoJSON, type GeoJSONGeometry } from "./geojson.ts";
export { geodesicArea, pointDistance } from "./geodesic.ts";
export { flatBounds, flatBoundsInto, SpatialIndex } from "./spatial_index.ts";
export type { Bbox } from "./flat_geometry.ts";
export { VALID_REASON } from "./ops/validity.ts";

export interface GeometryOptions {
  /** The feature id, named by errors about this geometry. */
  id?: FeatureId;
}

export interface Validity {
  valid: boolean;
  /** `"Valid Geometry"` or the GEOS/PostGIS reason (ST_IsValidReason wording). */
  reason: string;
}

export class GeometryCore {
  readonly #rt: GeosRuntime;

  constructor(runtime: GeosRuntime) {
    this.#rt = runtime;
  }

  /** Builds a geometry from the flat form in bulk. Empty, NaN, unclosed or too-short rings: `InvalidGeometryError`. */
  fromFlat(flat: FlatGeometry, options: GeometryOptions = {}): Geometry {
    return new Geometry(this.#rt, buildGeometry(this.#rt, flat, options.id), options.id);
  }

  fromFeature(feature: FlatFeature): Geometry {
    return this.fromFlat(feature.geometry, { id: feature.id });
  }

  /** Flattens a GeoJSON geometry to typed arrays, then `fromFlat`. */
  fromGeoJSON(geometry: GeoJSONGeometry, options: GeometryOptions = {}): Geometry {
    return this.fromFlat(flatFromGeoJSON(geometry), options);
  }

  /**
   * ST_IsValidReason of a flat geometry: structural problems GEOS cannot even build (too few points,
   * unclosed ring, NaN, empty) are reported without GEOS, the rest by `GEOSisValidReason`.
   */
  validate(flat: FlatGeometry, options: GeometryOptions = {}): Validity {
    try {
      checkStructure(flat, options.id);
    } catch (error) {
      if (error instanceof InvalidGeometryError) return { valid: false, reason: error.reason };
      throw error;
    }
    using geometry = this.fromFlat(flat, options);
    const reason = geometry.validReason();
    return { valid: reason === VALID_REASON, reason };
  }

  /**
   * ST_MakeValid from the flat form, keeping the polygonal part of polygonal input. Rings are first made
   * buildable the way PostGIS does (closed; fewer than 4 points padded). NaN/empty still throw.
   */
  makeValid(flat: FlatGeometry, options: GeometryOptions = {}): Geometry {
    const friendly = closeAndPadRings(flat);
    using geometry = this.fromFlat(friendly, options);
    return geometry.makeValid();
  }

  /**
   * ST_DWithin(a::geography, b::geography, metres) on WGS84 (see `geodesic.ts` for the method and
   * tolerance). Coordinates are lon/lat degrees.
   */
  dwithin(a: Geometry, b: Geometry, metres: number): boolean {
    return dwithin({
      boundsA: a.bounds(),
      boundsB: b.bounds(),
      intersects: () => a.intersects(b),
      flatA: () => a.toFlat(),
      flatB: () => b.toFlat(),
    }, metres);
  }

  /** Bytes of WASM linear memory (grows, never shrinks). */
  get heapBytes(): number {
    return this.#rt.heapBytes;
  }

  /** GEOS objects and heap buffers currently owned through the core: must return to its level after work. */
  get liveAllocations(): number {
    return this.#rt.liveAllocations;
  }
}

let core: Promise<GeometryCore> | undefined;

/** Loads GEOS once per isolate (later calls share it): in workerd pass `workerdWasmModules`. */
export function loadGeometryCore(modules: GeosWasmModules): Promise<GeometryCore> {
  core ??= loadRuntime(modules).then((rt) => new GeometryCore(rt)).catch((error) => {
    core = undefined;
    throw error;
  });
  return core;
}
