/**
 * CSV (`text/csv`, RFC 4180, UTF-8, a header row) read into a GeoJSON FeatureCollection by papaparse: the geometry
 * is a WKT column (parsed by betterknown) or a lon/lat pair of columns; the other columns become properties, as
 * strings (like GDAL's CSV driver without a .csvt), and an `id` column gives the feature ids.
 */
import Papa from "papaparse";
import { wktToGeoJSON } from "betterknown";
import { ValidationError } from "../../../shared/problem.ts";
import type { CsvColumns, VectorFile } from "./types.ts";

const WKT_NAMES = ["wkt", "geometry", "geom", "the_geom"];
const LON_NAMES = ["lon", "lng", "long", "longitude", "x"];
const LAT_NAMES = ["lat", "latitude", "y"];
/** The most problems listed in one 422. */
const MAX_ISSUES = 20;

function pick(fields: string[], given: string | undefined, names: string[], param: string): string | undefined {
  if (given !== undefined) {
    if (!fields.includes(given)) {
      throw new ValidationError(`The CSV has no column "${given}" (${param}).`, [
        { path: param, message: `columns: ${fields.join(", ")}` },
      ]);
    }
    return given;
  }
  return fields.find((f) => names.includes(f.trim().toLowerCase()));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What is read of papaparse's result (its types, @types/papaparse, would pull @types/node into every type check). */
interface CsvParse {
  data: Record<string, string>[];
  errors: { row?: number; message: string }[];
  meta: { fields?: string[] };
}

/** Reads a CSV body; no geometry column, bad WKT or a bad number is a 422 naming the row and column. */
export function readCsv(bytes: Uint8Array, columns: CsvColumns): VectorFile {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ValidationError("The CSV is not valid UTF-8.", [{ path: "body", message: "expected UTF-8 text" }]);
  }
  const parsed: CsvParse = Papa.parse(text, { header: true, skipEmptyLines: true });
  const fields = parsed.meta.fields ?? [];
  const errors = parsed.errors.slice(0, MAX_ISSUES).map((e) => ({
    path: `body.row[${(e.row ?? 0) + 1}]`,
    message: e.message,
  }));
  if (errors.length) throw new ValidationError("The CSV cannot be read.", errors);
  const wkt = pick(fields, columns.wkt_column, WKT_NAMES, "wkt_column");
  const lon = wkt === undefined ? pick(fields, columns.lon_column, LON_NAMES, "lon_column") : undefined;
  const lat = wkt === undefined ? pick(fields, columns.lat_column, LAT_NAMES, "lat_column") : undefined;
  if (wkt === undefined && (lon === undefined || lat === undefined)) {
    throw new ValidationError("The CSV has no geometry column.", [{
      path: "body",
      message: `name a WKT column (wkt_column=) or lon/lat columns (lon_column=, lat_column=); columns: ${
        fields.join(", ")
      }`,
    }]);
  }
  const issues: { path: string; message: string }[] = [];
  const features = parsed.data.map((row, i) => {
    const properties: Record<string, string> = {};
    for (const field of fields) if (field !== wkt && field !== lon && field !== lat) properties[field] = row[field]!;
    let geometry: unknown = null;
    const report = (path: string, message: string) => {
      if (issues.length < MAX_ISSUES) issues.push({ path, message });
    };
    if (wkt !== undefined) {
      let reason = "empty WKT";
      try {
        geometry = wktToGeoJSON(row[wkt] ?? "");
      } catch (error) {
        reason = `bad WKT: ${error instanceof Error ? error.message : error}`;
      }
      if (geometry === null) report(`body.row[${i + 1}].${wkt}`, reason);
    } else {
      const x = Number(row[lon!]), y = Number(row[lat!]);
      if (row[lon!]?.trim() === "" || row[lat!]?.trim() === "" || !Number.isFinite(x) || !Number.isFinite(y)) {
        report(`body.row[${i + 1}]`, `${lon}/${lat} must be numbers`);
      } else geometry = { type: "Point", coordinates: [x, y] };
    }
    return { type: "Feature", geometry, properties };
  });
  if (issues.length) throw new ValidationError("The CSV has rows without a readable geometry.", issues);
  return { featureCollection: { type: "FeatureCollection", features }, crs: undefined };
}
