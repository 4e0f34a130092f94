/**
 * Vector files other than GeoJSON and FlatGeobuf, each read into a GeoJSON FeatureCollection that then takes the
 * GeoJSON body's path (schema, ids, rings, ranges, repair): a zipped Shapefile and CSV. A GeoPackage is a SQLite
 * file: the CLI converts it (`deno task publish`), see docs/api.md.
 */
import type { CrsRef } from "../../../shared/contract/crs.ts";
import { readCsv } from "./csv.ts";
import { readShapefile } from "./shapefile.ts";

/** A file read as GeoJSON, with the CRS the file names for itself (a .prj), if any. */
export interface VectorFile {
  /** Checked by the GeoJSON schema next. */
  featureCollection: unknown;
  crs: CrsRef | undefined;
}

/** How a CSV body names its geometry columns (query parameters of the publish). */
export interface CsvColumns {
  wkt_column?: string | undefined;
  lon_column?: string | undefined;
  lat_column?: string | undefined;
}

export const VECTOR_FILE_MEDIA_TYPES = ["application/zip", "text/csv"] as const;
export type VectorFileMediaType = (typeof VECTOR_FILE_MEDIA_TYPES)[number];

export function isVectorFileMediaType(mediaType: string | undefined): mediaType is VectorFileMediaType {
  return (VECTOR_FILE_MEDIA_TYPES as readonly (string | undefined)[]).includes(mediaType);
}

export function readVectorFile(mediaType: VectorFileMediaType, bytes: Uint8Array, columns: CsvColumns): VectorFile {
  return mediaType === "application/zip" ? readShapefile(bytes) : readCsv(bytes, columns);
}
