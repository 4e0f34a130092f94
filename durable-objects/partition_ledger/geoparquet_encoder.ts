/**
 * GeoParquet 1.1 results (https://geoparquet.org/releases/v1.1.0/), written with hyparquet-writer: pure
 * JavaScript, so it runs in workerd with nothing to instantiate, and it writes a file one row group at a time
 * through its `Writer` (the encoder drains the bytes after each group, so memory holds one group, whatever the
 * result's size). Columns zstd-compressed with workerd's own zstd (`node:zlib`).
 *
 * Layout: `left_id`, the right key, the operation's value columns, the copied attributes (`left_<name>`,
 * `right_<name>`: optional, typed as the dataset records them), `geometry` (WKB, BYTE_ARRAY), and the bbox
 * covering column `bbox` {xmin, ymin, xmax, ymax} (GeoParquet 1.1 `covering`). Rows keep the result's order
 * ((left_id, right_id)): row groups are consecutive runs of it. The `geo` key-value metadata names the
 * geometry column, its WKB encoding, the geometry types, the bbox and the CRS (OGC:CRS84 as PROJJSON).
 */
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { zstdCompressSync } from "node:zlib";
import { WkbArena } from "../../wasm/wkb.ts";
import type { AttributeColumn, AttributeType } from "../../shared/attributes.ts";
import type { FeatureId, FlatGeometry, GeometryKind } from "../../wasm/flat_geometry.ts";
import type { ResultSchema } from "../../operations/operation.ts";
import { FACT_NAMES, type PartFacts } from "./part_codec.ts";
import type { PartSummary } from "./part_merge.ts";
import CRS84 from "./crs84.projjson.json" with { type: "json" };

/** Rows per row group, at most; a group also ends once its geometries reach {@link GROUP_GEOMETRY_BYTES}. */
export const GROUP_ROWS = 65_536;
const GROUP_GEOMETRY_BYTES = 32 * 2 ** 20;

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]["schema"][number];
type IdType = "INT64" | "DOUBLE" | "STRING";

/** A writer whose written bytes are taken out as they come (its `offset` keeps counting the whole file). */
class DrainingWriter extends ByteWriter {
  take(): Uint8Array {
    const bytes = this.getBytes().slice();
    this.index = 0;
    return bytes;
  }
}

/** A result row as the encoders read it (result_encoders.ts `RowView`). */
interface EncodedRow {
  readonly l: FeatureId;
  readonly r: FeatureId;
  geometry(): FlatGeometry;
  properties(): Record<string, number> | undefined;
  attribute(k: number): unknown;
}

/** A `ResultEncoder` (result_encoders.ts) of GeoParquet. */
export class GeoParquetEncoder {
  readonly #writer = new DrainingWriter(1 << 20);
  readonly #parquet: ParquetWriter;
  readonly #rightKey: string | undefined;
  readonly #leftType: IdType;
  readonly #rightType: IdType;
  readonly #columns: ResultSchema["columns"];
  readonly #attributes: readonly AttributeColumn[];
  #rows = new GroupRows();
  readonly #wkb = new WkbArena();
  readonly #kinds = new Set<GeometryKind>();
  readonly #extent = [Infinity, Infinity, -Infinity, -Infinity];

  constructor(schema: ResultSchema, parts: PartSummary[]) {
    const facts = Object.fromEntries(
      FACT_NAMES.map((name) => [name, parts.reduce((bits, p) => bits | (p.stats[name] ?? 0), 0)]),
    ) as PartFacts;
    this.#rightKey = schema.keys[1];
    this.#leftType = idType(facts.left_id_classes);
    this.#rightType = idType(facts.right_id_classes);
    this.#columns = schema.columns;
    this.#attributes = schema.attributes ?? [];
    const required = "REQUIRED" as const;
    const elements: SchemaElement[] = [
      idElement("left_id", this.#leftType),
      ...(this.#rightKey ? [idElement(this.#rightKey, this.#rightType)] : []),
      ...schema.columns.map((c): SchemaElement => ({
        name: c.name,
        type: c.type === "long" ? "INT64" : "DOUBLE",
        repetition_type: c.type === "double?" ? "OPTIONAL" : required,
      })),
      ...this.#attributes.map((a): SchemaElement => ({ name: a.column, ...PARQUET_ATTRIBUTE_TYPES[a.type] })),
      { name: "geometry", type: "BYTE_ARRAY", repetition_type: required },
      { name: "bbox", repetition_type: required, num_children: 4 },
      ...["xmin", "ymin", "xmax", "ymax"].map((name): SchemaElement => ({
        name,
        type: "DOUBLE",
        repetition_type: required,
      })),
    ];
    this.#parquet = new ParquetWriter({
      writer: this.#writer,
      schema: [{ name: "root", num_children: elements.length - 4 }, ...elements],
      codec: "ZSTD",
      compressors: { ZSTD: zstdFrames },
      createdBy: "spatial-jobs (hyparquet-writer 0.17.0)",
    });
  }

  /** `PAR1`, which the writer wrote when it was made. */
  start(): Uint8Array {
    return this.#writer.take();
  }

  add(row: EncodedRow, _n: number): void {
    const geometry = row.geometry();
    const wkb = this.#wkb.wkb(geometry);
    const box = boundsOf(geometry);
    this.#kinds.add(geometry.kind);
    this.#extent[0] = Math.min(this.#extent[0]!, box.xmin);
    this.#extent[1] = Math.min(this.#extent[1]!, box.ymin);
    this.#extent[2] = Math.max(this.#extent[2]!, box.xmax);
    this.#extent[3] = Math.max(this.#extent[3]!, box.ymax);
    const p = row.properties();
    this.#rows.push(
      idValue(row.l, this.#leftType),
      this.#rightKey ? idValue(row.r, this.#rightType) : null,
      this.#columns.map((c) => {
        const value = p?.[c.name];
        if (c.type === "double?") return value === undefined || Number.isNaN(value) ? null : value;
        return c.type === "long" ? BigInt(value ?? 0) : value ?? 0;
      }),
      this.#attributes.map((a, k) => attributeValue(row.attribute(k), a.type)),
      wkb,
      box,
    );
    if (this.#rows.length >= GROUP_ROWS || this.#rows.geometryBytes >= GROUP_GEOMETRY_BYTES) this.#flushGroup();
  }

  /** Bytes written and not taken yet (the group being gathered is bounded by GROUP_ROWS and its geometry bytes). */
  get pending(): number {
    return this.#writer.index;
  }

  take(): Uint8Array {
    return this.#writer.take();
  }

  end(): Uint8Array {
    this.#flushGroup();
    const empty = this.#kinds.size === 0;
    const geo = {
      version: "1.1.0",
      primary_column: "geometry",
      columns: {
        geometry: {
          encoding: "WKB",
          geometry_types: [...this.#kinds].sort(),
          ...(empty ? {} : { bbox: this.#extent }),
          crs: CRS84,
          covering: {
            bbox: { xmin: ["bbox", "xmin"], ymin: ["bbox", "ymin"], xmax: ["bbox", "xmax"], ymax: ["bbox", "ymax"] },
          },
        },
      },
    };
    this.#parquet.kvMetadata = [{ key: "geo", value: JSON.stringify(geo) }];
    this.#parquet.finish();
    return this.#writer.take();
  }

  #flushGroup(): void {
    const rows = this.#rows;
    if (rows.length === 0) return;
    this.#rows = new GroupRows();
    const columnData = [
      { name: "left_id", data: rows.left },
      ...(this.#rightKey ? [{ name: this.#rightKey, data: rows.right }] : []),
      ...this.#columns.map((c, i) => ({ name: c.name, data: rows.values.map((v) => v[i]) })),
      ...this.#attributes.map((a, k) => ({ name: a.column, data: rows.attributes.map((v) => v[k]) })),
      { name: "geometry", data: rows.geometry },
      { name: "bbox", data: rows.bbox },
    ];
    // One call, one row group: the rows stay in the order they came.
    this.#parquet.write({ columnData, rowGroupSize: rows.length });
  }
}

/** One row group's column values, gathered row by row. */
class GroupRows {
  left: unknown[] = [];
  right: unknown[] = [];
  values: unknown[][] = [];
  attributes: unknown[][] = [];
  geometry: Uint8Array[] = [];
  bbox: { xmin: number; ymin: number; xmax: number; ymax: number }[] = [];
  geometryBytes = 0;

  get length(): number {
    return this.left.length;
  }

  push(
    l: unknown,
    r: unknown,
    values: unknown[],
    attributes: unknown[],
    wkb: Uint8Array,
    box: GroupRows["bbox"][number],
  ): void {
    this.left.push(l);
    this.right.push(r);
    this.values.push(values);
    this.attributes.push(attributes);
    this.geometry.push(wkb);
    this.bbox.push(box);
    this.geometryBytes += wkb.length;
  }
}

/**
 * zstd of `bytes` as consecutive frames of at most 32 KiB of input each, which zstd decoders read as one stream.
 * workerd's `zstdCompressSync` (1.20260426) throws "Unexpected end of file" once its output passes ~32 KiB, as
 * it does for any incompressible input over that size (coordinates); a frame's output stays under it.
 */
export function zstdFrames(bytes: Uint8Array): Uint8Array {
  const frames: Uint8Array[] = [];
  let size = 0;
  for (let at = 0; at < bytes.length || at === 0; at += ZSTD_FRAME_INPUT) {
    const frame = zstdCompressSync(bytes.subarray(at, at + ZSTD_FRAME_INPUT));
    frames.push(frame);
    size += frame.length;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}
const ZSTD_FRAME_INPUT = 32 * 1024;

/** Integer ids as INT64, other numbers as DOUBLE, strings (or a mix) as UTF-8 strings. */
function idType(classes: number): IdType {
  const INT = 1 << 1, DOUBLE = 1 << 2;
  if (classes !== 0 && (classes & ~INT) === 0) return "INT64";
  if (classes !== 0 && (classes & ~(INT | DOUBLE)) === 0) return "DOUBLE";
  return "STRING";
}

function idElement(name: string, type: IdType): SchemaElement {
  return type === "STRING"
    ? { name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" }
    : { name, type, repetition_type: "REQUIRED" };
}

function idValue(id: FeatureId, type: IdType): unknown {
  if (type === "INT64") return BigInt(id);
  return type === "DOUBLE" ? id : String(id);
}

/** Attribute columns are optional (a feature may lack one); JSON values as JSON text (the writer stringifies them). */
const PARQUET_ATTRIBUTE_TYPES: Record<AttributeType, Omit<SchemaElement, "name">> = {
  boolean: { type: "BOOLEAN", repetition_type: "OPTIONAL" },
  integer: { type: "INT64", repetition_type: "OPTIONAL" },
  number: { type: "DOUBLE", repetition_type: "OPTIONAL" },
  string: { type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
  json: { type: "BYTE_ARRAY", converted_type: "JSON", repetition_type: "OPTIONAL" },
};

function attributeValue(value: unknown, type: AttributeType): unknown {
  if (value === null || value === undefined) return null;
  return type === "integer" ? BigInt(value as number) : value;
}

function boundsOf(geometry: FlatGeometry): { xmin: number; ymin: number; xmax: number; ymax: number } {
  let xmin = Infinity, ymin = Infinity, xmax = -Infinity, ymax = -Infinity;
  const visit = (g: FlatGeometry) => {
    for (let i = 0; i < g.xy.length; i += 2) {
      const x = g.xy[i]!, y = g.xy[i + 1]!;
      if (x < xmin) xmin = x;
      if (x > xmax) xmax = x;
      if (y < ymin) ymin = y;
      if (y > ymax) ymax = y;
    }
    for (const part of g.parts ?? []) visit(part);
  };
  visit(geometry);
  return { xmin, ymin, xmax, ymax };
}
