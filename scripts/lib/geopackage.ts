/**
 * A GeoPackage's feature table as a GeoJSON FeatureCollection, for `deno task publish` (the Worker does not read
 * GeoPackage: it is a SQLite file, and sql.js, the SQLite that runs in workerd, is 688 KB of WebAssembly that holds
 * the whole database in its heap, so a 64 MiB upload would need twice that in a 128 MB isolate). SQLite is Deno's
 * `node:sqlite`; the geometry blobs (a GeoPackage header, then WKB) are read by wkx.
 */
import { DatabaseSync } from "node:sqlite";
import { Buffer } from "node:buffer";
// @ts-types="./wkx.d.ts"
import wkx from "wkx";

export interface GeoPackageLayer {
  featureCollection: { type: "FeatureCollection"; features: unknown[] };
  /** `EPSG:<n>` from the layer's srs; undefined when the srs is undefined (0 or -1, as GDAL writes for none). */
  crs: string | undefined;
}

export class GeoPackageError extends Error {}

/** The bytes of a GeoPackage geometry blob's envelope, by the flags' envelope indicator (GeoPackage 1.3 §2.1.3). */
const ENVELOPE_BYTES = [0, 32, 48, 48, 64];

/** A GeoPackage geometry blob as a GeoJSON geometry (null when empty). */
export function geometryFromBlob(blob: Uint8Array): unknown {
  if (blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) {
    throw new GeoPackageError("a geometry is not a GPKG blob");
  }
  const flags = blob[3]!;
  const envelope = ENVELOPE_BYTES[(flags >> 1) & 0b111];
  if (envelope === undefined) throw new GeoPackageError("a geometry blob has a bad envelope indicator");
  if (flags & 0b10000) return null;
  const wkb = Buffer.from(blob.buffer, blob.byteOffset + 8 + envelope, blob.length - 8 - envelope);
  return wkx.Geometry.parse(wkb).toGeoJSON();
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * Reads feature table `layer` (default: the only one) of the GeoPackage at `path`. Feature ids: an `id` column
 * stays a property (the service takes `properties.id`); without one, the table's primary key (`fid`) is the id.
 */
export function readGeoPackage(path: string, layer?: string): GeoPackageLayer {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    db.prepare("SELECT 1 FROM gpkg_contents LIMIT 1").all();
  } catch (error) {
    throw new GeoPackageError(`not a GeoPackage (${error instanceof Error ? error.message : error})`);
  }
  try {
    const tables = db.prepare(
      `SELECT c.table_name AS name, g.column_name AS geom, s.organization AS org, s.organization_coordsys_id AS code,
              s.srs_id AS srs
         FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name
         LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id
        WHERE c.data_type = 'features'`,
    ).all() as { name: string; geom: string; org: string | null; code: number | null; srs: number }[];
    if (tables.length === 0) throw new GeoPackageError("it holds no feature table");
    const table = layer === undefined ? tables[0] : tables.find((t) => t.name === layer);
    if (!table || (layer === undefined && tables.length > 1)) {
      throw new GeoPackageError(
        `${layer === undefined ? "it holds several" : `no layer "${layer}" among its`} feature tables (${
          tables.map((t) => t.name).join(", ")
        }); choose one with --layer`,
      );
    }
    const columns = db.prepare(`PRAGMA table_info(${quote(table.name)})`).all() as { name: string; pk: number }[];
    const pk = columns.find((c) => c.pk === 1)?.name;
    const hasIdColumn = columns.some((c) => c.name === "id");
    const features = [];
    for (const row of db.prepare(`SELECT * FROM ${quote(table.name)}`).iterate() as Iterable<Record<string, unknown>>) {
      const blob = row[table.geom];
      const geometry = blob instanceof Uint8Array ? geometryFromBlob(blob) : null;
      const properties: Record<string, unknown> = {};
      for (const c of columns) if (c.name !== table.geom && c.name !== pk) properties[c.name] = row[c.name];
      features.push({
        type: "Feature",
        ...(hasIdColumn || pk === undefined ? {} : { id: row[pk] }),
        properties,
        geometry,
      });
    }
    if (features.length === 0) throw new GeoPackageError(`its layer "${table.name}" holds no features`);
    let crs: string | undefined;
    if (table.srs > 0) {
      if (table.org?.toUpperCase() !== "EPSG" || table.code === null) {
        throw new GeoPackageError(`its srs ${table.srs} (${table.org}) is not an EPSG code; give --crs`);
      }
      crs = `EPSG:${table.code}`;
    }
    return { featureCollection: { type: "FeatureCollection", features }, crs };
  } finally {
    db.close();
  }
}
