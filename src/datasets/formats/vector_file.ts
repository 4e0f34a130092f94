/**
 * Vector files other than GeoJSON and FlatGeobuf, each read into a GeoJSON FeatureCollection that then takes the
 * GeoJSON body's path (schema, ids, rings, ranges, repair): a zipped Shapefile and CSV. A GeoPackage is a SQLite
 * file: the CLI converts it (`deno task publish`), see docs/api.md.
 */
import type { CsvColumns, VectorFile } from "./types.ts";
import { readCsv } from "./csv.ts";
import { readShapefile } from "./shapefile.ts";

export type { CsvColumns, VectorFile };

export const VECTOR_FILE_MEDIA_TYPES = ["application/zip", "text/csv"] as const;
export type VectorFileMediaType = (typeof VECTOR_FILE_MEDIA_TYPES)[number];

export function isVectorFileMediaType(mediaType: string | undefined): mediaType is VectorFileMediaType {
  return (VECTOR_FILE_MEDIA_TYPES as readonly (string | undefined)[]).includes(mediaType);
}

export function readVectorFile(mediaType: VectorFileMediaType, bytes: Uint8Array, columns: CsvColumns): VectorFile {
  return mediaType === "application/zip" ? readShapefile(bytes) : readCsv(bytes, columns);
}
