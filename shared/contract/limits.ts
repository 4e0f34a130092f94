/**
 * The documented size limits of the public contract. Over a byte limit: 413
 * (checked before parsing); over any other limit: 422 naming the field.
 */

/** `POST /v1/jobs` body. */
export const MAX_JOB_BODY_BYTES = 8 * 1024 * 1024;
/** `PUT /v1/datasets/{name}` body (GeoJSON or FlatGeobuf). */
export const MAX_DATASET_BODY_BYTES = 64 * 1024 * 1024;
/** Any other request with a body. */
export const MAX_OTHER_BODY_BYTES = 64 * 1024;

/** Features in a job's `geometry_payload`. */
export const MAX_PAYLOAD_FEATURES = 10_000;
/** Positions in a job's `geometry_payload` (all features). */
export const MAX_PAYLOAD_VERTICES = 500_000;
/** Features in a published GeoJSON dataset. */
export const MAX_DATASET_FEATURES = 250_000;
/** Positions in a published GeoJSON dataset (all features). */
export const MAX_DATASET_VERTICES = 5_000_000;
/** Positions in one geometry (jobs and datasets). */
export const MAX_GEOMETRY_VERTICES = 250_000;
/** Rings per polygon, lines per MultiLineString, parts per Multi* geometry. */
export const MAX_GEOMETRY_PARTS = 10_000;

/** Nesting of arrays/objects in a JSON body (a MultiPolygon in a job needs 8). */
export const MAX_JSON_DEPTH = 32;
/** A string feature id. */
export const MAX_FEATURE_ID_LENGTH = 256;
/** A property name. */
export const MAX_PROPERTY_KEY_LENGTH = 256;
/** A string property value (anywhere inside `properties`). */
export const MAX_PROPERTY_STRING_LENGTH = 65_536;
/** Dataset names: 1–128 characters of `[A-Za-z0-9._-]`, starting with a letter or digit. */
export const MAX_DATASET_NAME_LENGTH = 128;
/** `callback_url`. */
export const MAX_URL_LENGTH = 2048;
/** Job ids in paths. */
export const MAX_JOB_ID_LENGTH = 200;

/** `slo_deadline_ms`: default and maximum (24 h). */
export const DEFAULT_SLO_DEADLINE_MS = 300_000;
export const MAX_SLO_DEADLINE_MS = 86_400_000;
/** `distance_m` for `dwithin`: exclusive minimum 0, maximum 1,000 km. */
export const MAX_DISTANCE_M = 1_000_000;

/** `?snap_m=` of a network publish: endpoints this close (metres) merge into one vertex. */
export const MAX_SNAP_M = 1_000;

/** Field errors listed in one problem (the detail says how many there were). */
export const MAX_REPORTED_ERRORS = 100;

/** Limits the GeoJSON checker applies; jobs and datasets differ in counts. */
export interface GeoJsonLimits {
  maxFeatures: number;
  maxVertices: number;
  maxGeometryVertices: number;
  maxGeometryParts: number;
}

export const PAYLOAD_LIMITS: GeoJsonLimits = {
  maxFeatures: MAX_PAYLOAD_FEATURES,
  maxVertices: MAX_PAYLOAD_VERTICES,
  maxGeometryVertices: MAX_GEOMETRY_VERTICES,
  maxGeometryParts: MAX_GEOMETRY_PARTS,
};

export const DATASET_LIMITS: GeoJsonLimits = {
  maxFeatures: MAX_DATASET_FEATURES,
  maxVertices: MAX_DATASET_VERTICES,
  maxGeometryVertices: MAX_GEOMETRY_VERTICES,
  maxGeometryParts: MAX_GEOMETRY_PARTS,
};
