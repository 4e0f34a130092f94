/**
 * A zipped Shapefile (`application/zip`: one `.shp` with its `.dbf`, and optionally `.prj` and `.cpg`) read into a
 * GeoJSON FeatureCollection: the archive by fflate, the shapes and attributes by shpjs. The `.prj` sets the CRS.
 */
import { unzipSync } from "fflate";
import { parseDbf, parseShp } from "shpjs";
import { crsFromWkt, type CrsRef } from "../../../shared/contract/crs.ts";
import { ValidationError } from "../../../shared/problem.ts";
import type { VectorFile } from "./types.ts";

/** The most bytes the archive may inflate to: a zip bomb is refused before it fills the isolate's 128 MB. */
export const MAX_UNZIPPED_BYTES = 96 * 1024 * 1024;

function refused(detail: string, message: string): ValidationError {
  return new ValidationError(`The Shapefile archive cannot be read: ${detail}`, [{ path: "body", message }]);
}

function unzip(bytes: Uint8Array): Record<string, Uint8Array> {
  let total = 0;
  try {
    return unzipSync(bytes, {
      filter(file) {
        if (/(^|\/)__MACOSX\//.test(file.name) || file.name.endsWith("/")) return false;
        total += file.originalSize;
        if (total > MAX_UNZIPPED_BYTES) throw new RangeError(`it inflates to more than ${MAX_UNZIPPED_BYTES} bytes`);
        return true;
      },
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw refused(`${reason}.`, "expected a zip archive holding one .shp, its .dbf, and optionally .prj and .cpg");
  }
}

/** The archive's one layer: its files by extension (lower case), or a 422 saying what is missing or extra. */
function layerFiles(files: Record<string, Uint8Array>): Map<string, Uint8Array> {
  const shps = Object.keys(files).filter((name) => /\.shp$/i.test(name));
  if (shps.length !== 1) {
    throw refused(
      shps.length === 0 ? "it holds no .shp file." : `it holds ${shps.length} .shp files; send one layer per dataset.`,
      shps.length === 0 ? "missing .shp" : `several layers: ${shps.join(", ")}`,
    );
  }
  const base = shps[0]!.slice(0, -4).toLowerCase();
  const layer = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(files)) {
    const dot = name.lastIndexOf(".");
    if (dot > 0 && name.slice(0, dot).toLowerCase() === base) layer.set(name.slice(dot + 1).toLowerCase(), data);
  }
  if (!layer.has("dbf")) throw refused(`${shps[0]} has no .dbf beside it.`, "missing .dbf (the attributes and ids)");
  return layer;
}

const utf8 = new TextDecoder();

/** Reads a zipped Shapefile; a corrupt archive or layer is a 422 naming the reason. */
export function readShapefile(bytes: Uint8Array): VectorFile {
  const layer = layerFiles(unzip(bytes));
  let crs: CrsRef | undefined;
  const prj = layer.get("prj");
  if (prj) {
    try {
      crs = crsFromWkt(utf8.decode(prj));
    } catch (error) {
      throw refused(`its .prj: ${(error as Error).message}.`, "the .prj is not a WKT CRS proj4 can read");
    }
  }
  let shapes: unknown[];
  let records: Record<string, unknown>[];
  try {
    shapes = parseShp(layer.get("shp")!);
    const cpg = layer.get("cpg");
    records = parseDbf(layer.get("dbf")!, cpg ? utf8.decode(cpg) : undefined);
  } catch (error) {
    throw refused(`${error instanceof Error ? error.message : error}.`, "a corrupt .shp or .dbf");
  }
  if (records.length !== shapes.length) {
    throw refused(
      `the .shp holds ${shapes.length} shapes and the .dbf ${records.length} records.`,
      "the .shp and .dbf do not match",
    );
  }
  const features = shapes.map((geometry, i) => ({ type: "Feature", geometry, properties: records[i] }));
  return { featureCollection: { type: "FeatureCollection", features }, crs };
}
