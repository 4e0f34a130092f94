/** What each result format is called on the wire and on disk. */
import type { OutputFormat } from "./contract/job.ts";

export const RESULT_FORMATS: Record<OutputFormat, { mediaType: string; extension: string }> = {
  geojson: { mediaType: "application/geo+json", extension: "geojson" },
  flatgeobuf: { mediaType: "application/flatgeobuf", extension: "fgb" },
  // IANA registered application/vnd.apache.parquet in 2024.
  geoparquet: { mediaType: "application/vnd.apache.parquet", extension: "parquet" },
};
