/** What a vector file reader returns, and how a CSV body names its geometry columns. */
import type { CrsRef } from "../../../shared/contract/crs.ts";

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
