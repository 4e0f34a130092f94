/**
 * Result encoders: rows in, the output format's bytes out in chunks, with the
 * key and property columns the operation's result schema names
 * (operations/operation.ts). GeoJSON text, FlatGeobuf without an index
 * (an index would reorder the features), and GeoParquet (geoparquet_encoder.ts).
 */
import {
  columnTypeOfBits,
  geometryTypeOfKinds,
  ResultFlatGeobufWriter,
  type WrittenColumn,
} from "../../shared/tiles/fgb_writer.ts";
import { ColumnType } from "flatgeobuf/lib/mjs/flat-geobuf/column-type.js";
import { geoJSONTextFromFlat } from "../../wasm/geojson.ts";
import type { FeatureId, FlatGeometry } from "../../wasm/flat_geometry.ts";
import type { ResultRow } from "../../shared/job_spec.ts";
import type { AttributeType } from "../../shared/attributes.ts";
import type { ResultSchema } from "../../operations/operation.ts";
import { FACT_NAMES, kindsOf, type PartFacts } from "./part_codec.ts";
import type { PartSummary } from "./part_merge.ts";
import { GeoParquetEncoder } from "./geoparquet_encoder.ts";
import { flatGeometryFromWgs84, type SupportedCrs } from "../../shared/contract/crs.ts";

/** A row as an encoder reads it: a part cursor's current row (no object per row), or a combined row. */
export interface RowView {
  readonly l: FeatureId;
  readonly r: FeatureId;
  geometry(): FlatGeometry;
  geometryText(): string;
  properties(): Record<string, number> | undefined;
  /** The value of copied attribute `k` (the schema's `attributes`), null when the feature has none. */
  attribute(k: number): unknown;
}

/** A row object seen as a {@link RowView}. */
export class RowObjectView implements RowView {
  constructor(readonly row: ResultRow) {}
  get l(): FeatureId {
    return this.row.l;
  }
  get r(): FeatureId {
    return this.row.r;
  }
  geometry(): FlatGeometry {
    return this.row.g;
  }
  geometryText(): string {
    return geoJSONTextFromFlat(this.row.g);
  }
  properties(): Record<string, number> | undefined {
    return this.row.p;
  }
  attribute(k: number): unknown {
    return this.row.a?.[k] ?? null;
  }
}

/**
 * A row whose geometry is converted from EPSG:4326 to `crs` (`output_crs`): a copy, since a part cursor's geometry
 * is a view of its buffer.
 */
export class ReprojectedRow implements RowView {
  constructor(readonly row: RowView, readonly crs: SupportedCrs) {}
  get l(): FeatureId {
    return this.row.l;
  }
  get r(): FeatureId {
    return this.row.r;
  }
  geometry(): FlatGeometry {
    return flatGeometryFromWgs84(copyGeometry(this.row.geometry()), this.crs);
  }
  geometryText(): string {
    return geoJSONTextFromFlat(this.geometry());
  }
  properties(): Record<string, number> | undefined {
    return this.row.properties();
  }
  attribute(k: number): unknown {
    return this.row.attribute(k);
  }
}

function copyGeometry(g: FlatGeometry): FlatGeometry {
  return {
    kind: g.kind,
    xy: g.xy.slice(),
    ...(g.ends ? { ends: g.ends } : {}),
    ...(g.parts ? { parts: g.parts.map(copyGeometry) } : {}),
  };
}

export interface ResultEncoder {
  start(): Uint8Array;
  /** Encodes a row as row number `n` (1-based). */
  add(row: RowView, n: number): void;
  readonly pending: number;
  take(): Uint8Array;
  end(): Uint8Array;
}

/** The encoder of a result format. `count`: the rows to come, or 0 when not known up front. */
export function resultEncoder(
  format: string,
  schema: ResultSchema,
  parts: PartSummary[],
  count: number,
  /** The EPSG code of the rows' geometries (FlatGeobuf records it in its header). */
  epsg = 4326,
): ResultEncoder {
  if (format === "geoparquet") return new GeoParquetEncoder(schema, parts);
  return format === "geojson" ? new GeoJsonEncoder(schema) : new FlatGeobufEncoder(schema, parts, count, epsg);
}

const utf8 = new TextEncoder();

class GeoJsonEncoder implements ResultEncoder {
  /** The chunk's text so far: appended to (V8 joins the pieces once, when it is encoded), not kept as an array. */
  #text = "";
  /** The last left id and the feature's text up to its second key: rows come sorted by left id, so it repeats. */
  #left: FeatureId | undefined;
  #head = "";
  readonly #rightKey: string | null;
  readonly #columns: { name: string; text: string; nullable: boolean }[];
  /** `,"left_<name>":` of each copied attribute. */
  readonly #attributeKeys: string[];

  constructor(readonly schema: ResultSchema) {
    this.#attributeKeys = (schema.attributes ?? []).map((a) => `,${JSON.stringify(a.column)}:`);
    this.#rightKey = schema.keys[1] === undefined ? null : JSON.stringify(schema.keys[1]);
    this.#columns = schema.columns.map((c) => ({
      name: c.name,
      text: JSON.stringify(c.name),
      nullable: c.type === "double?",
    }));
  }

  start(): Uint8Array {
    return utf8.encode('{"type":"FeatureCollection","features":[');
  }

  add(row: RowView, n: number): void {
    if (row.l !== this.#left) {
      this.#left = row.l;
      this.#head = `{"type":"Feature","properties":{"left_id":${JSON.stringify(row.l)}`;
    }
    let text = `${n > 1 ? "," : ""}${this.#head}`;
    if (this.#rightKey) text += `,${this.#rightKey}:${typeof row.r === "number" ? row.r : JSON.stringify(row.r)}`;
    if (this.#columns.length) {
      const p = row.properties();
      for (const column of this.#columns) {
        const value = p?.[column.name];
        // As JSON.stringify: a missing or non-finite number is null (a non-nullable column is always present).
        if (value === undefined && !column.nullable) continue;
        text += `,${column.text}:${value !== undefined && Number.isFinite(value) ? value : "null"}`;
      }
    }
    for (let k = 0; k < this.#attributeKeys.length; k++) {
      text += this.#attributeKeys[k]! + JSON.stringify(row.attribute(k));
    }
    this.#text += `${text}},"geometry":${this.schema.withoutGeometry ? "null" : row.geometryText()}}`;
  }

  /** Characters, an estimate of bytes (the text is ASCII but for string ids). */
  get pending(): number {
    return this.#text.length;
  }

  take(): Uint8Array {
    const bytes = utf8.encode(this.#text);
    this.#text = "";
    return bytes;
  }

  end(): Uint8Array {
    this.#text += "]}";
    return this.take();
  }
}

const FGB_COLUMN_TYPES = { "double": ColumnType.Double, "double?": ColumnType.Double, "long": ColumnType.Long };
const FGB_ATTRIBUTE_TYPES: Record<AttributeType, ColumnType> = {
  boolean: ColumnType.Bool,
  integer: ColumnType.Long,
  number: ColumnType.Double,
  string: ColumnType.String,
  json: ColumnType.Json,
};

/**
 * The row number is the feature id. The id columns' types and the geometry type come from the facts each slice
 * recorded of its rows, so the header can be written first.
 */
class FlatGeobufEncoder implements ResultEncoder {
  readonly #writer: ResultFlatGeobufWriter;
  readonly #rightKey: string | undefined;

  constructor(readonly schema: ResultSchema, parts: PartSummary[], count: number, epsg: number) {
    const facts = Object.fromEntries(
      FACT_NAMES.map((name) => [name, parts.reduce((bits, p) => bits | (p.stats[name] ?? 0), 0)]),
    ) as PartFacts;
    this.#rightKey = schema.keys[1];
    const columns: WrittenColumn[] = [
      { name: "id", type: ColumnType.Long },
      { name: "left_id", type: columnTypeOfBits(facts.left_id_classes) },
      ...(this.#rightKey ? [{ name: this.#rightKey, type: columnTypeOfBits(facts.right_id_classes) }] : []),
      ...schema.columns.map((c) => ({ name: c.name, type: FGB_COLUMN_TYPES[c.type] })),
      ...(schema.attributes ?? []).map((a) => ({ name: a.column, type: FGB_ATTRIBUTE_TYPES[a.type] })),
    ];
    this.#writer = new ResultFlatGeobufWriter({
      columns,
      count,
      geometryType: geometryTypeOfKinds(schema.geometryKinds ?? kindsOf(facts.geometry_kinds)),
      epsg,
    });
  }

  start(): Uint8Array {
    return this.#writer.header();
  }

  add(row: RowView, n: number): void {
    const properties: Record<string, unknown> = { left_id: row.l };
    if (this.#rightKey) properties[this.#rightKey] = row.r;
    const p = row.properties();
    if (p) {
      for (const column of this.schema.columns) {
        const value = p[column.name];
        if (value !== undefined && !Number.isNaN(value)) properties[column.name] = value;
      }
    }
    const attributes = this.schema.attributes ?? [];
    // A null value is left out: FlatGeobuf readers read an absent property as null.
    for (let k = 0; k < attributes.length; k++) properties[attributes[k]!.column] = row.attribute(k);
    this.#writer.add({ id: n, geometry: row.geometry(), properties });
  }

  get pending(): number {
    return this.#writer.pending;
  }

  take(): Uint8Array {
    return this.#writer.take();
  }

  end(): Uint8Array {
    return this.take();
  }
}
