/**
 * Staged part objects: a slice's result rows, sorted, in a small columnar
 * binary form written and read in one pass each (no per-row objects to build
 * on the way out, no GeoJSON text anywhere between slice and commit):
 *
 * ```
 * "SJP1" | u32 meta length | meta JSON {n, props, lRuns, r, attrs} | pad to 8
 * | u32 structure length | u32 coordinate count | f64 props (one column per name, n each)
 * | f64 coordinates | u32 structure | u32 right ids (when `rU32`)
 * | u32 attribute values (one column per copied attribute, n each: indexes into its dictionary in `attrs`)
 * ```
 *
 * Copied attributes (strings, numbers, booleans, null, JSON values) go as dictionaries: a left feature's values
 * repeat on every one of its pairs, and a right feature's on every left feature it pairs with, so each distinct
 * value is written once per part and a row costs 4 bytes per attribute.
 *
 * Ids keep their JSON type (they travel in the meta JSON; left ids as runs,
 * since a left feature's pairs are consecutive), but right ids that are all
 * integers in [0, 2^32) go as a u32 column: a million of them is ~7 MB of
 * JSON to write, stage and parse, 4 MB as a column. A geometry's
 * structure is `kind, points, rings, ends…, parts, (part structure)…`; its
 * coordinates follow the previous row's; a part of points only (point joins)
 * stores no structure. Decoded geometries are views into the object's bytes.
 */
import { valueClassBit } from "../../shared/tiles/fgb_writer.ts";
import { type FeatureId, type FlatGeometry, type GeometryKind, isU32Id } from "../../wasm/flat_geometry.ts";
import { geoJSONTextFromFlat } from "../../wasm/geojson.ts";
import type { ResultRow, StagedRow } from "../../shared/job_spec.ts";

export const PART_CONTENT_TYPE = "application/x-spatial-jobs-part";

const MAGIC = 0x3150_4a53; // "SJP1" little-endian
const KINDS: GeometryKind[] = ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"];
const KIND_CODES = new Map(KINDS.map((kind, i) => [kind, i]));

interface PartMeta {
  n: number;
  props: string[];
  /** Left ids as runs (rows are sorted by left id, so one repeats for all its pairs): ids, then run lengths. */
  lRuns?: [FeatureId[], number[]];
  /** Left ids row by row (parts staged before runs). */
  l?: FeatureId[];
  /** Right ids row by row, unless they are stored as a u32 column ({@link rU32}). */
  r?: FeatureId[];
  rU32?: true;
  /** Every geometry is a Point: no structure is stored, row i's point is coordinates 2i, 2i + 1. */
  points?: true;
  /** Per copied attribute, its distinct values: the attribute columns hold indexes into these. */
  attrs?: unknown[][];
}

export class PartFormatError extends SyntaxError {
  override name = "PartFormatError";
}

export function encodePart(rows: readonly StagedRow[]): Uint8Array {
  const n = rows.length;
  const props = [...new Set(rows.flatMap((row) => (row.p ? Object.keys(row.p) : [])))];
  const points = n > 0 && rows.every((row) => !row.g || (row.g.kind === "Point" && row.g.xy.length === 2));
  const rU32 = rows.every((row) => isU32Id(row.r));
  const attributes = attributeColumns(rows);
  const meta: PartMeta = {
    n,
    props,
    lRuns: leftRuns(rows),
    ...(rU32 ? { rU32 } : { r: rows.map((row) => row.r) }),
    ...(points ? { points } : {}),
    ...(attributes ? { attrs: attributes.dictionaries } : {}),
  };
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta));

  const structure = new Uint32Sink();
  let coordinates = 0;
  for (const row of rows) coordinates += points ? 2 : describe(geometryOf(row), structure);

  const head = align8(8 + metaBytes.length);
  const propsAt = head + 8;
  const coordsAt = propsAt + props.length * n * 8;
  const structureAt = coordsAt + coordinates * 8;
  const rightAt = structureAt + structure.length * 4;
  const attributesAt = rightAt + (rU32 ? n * 4 : 0);
  const out = new Uint8Array(attributesAt + (attributes ? attributes.indexes.length * 4 : 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, metaBytes.length, true);
  out.set(metaBytes, 8);
  view.setUint32(head, structure.length, true);
  view.setUint32(head + 4, coordinates, true);
  const propColumns = new Float64Array(out.buffer, propsAt, props.length * n);
  props.forEach((name, k) => {
    for (let i = 0; i < n; i++) propColumns[k * n + i] = rows[i]!.p?.[name] ?? NaN;
  });
  const coords = new Float64Array(out.buffer, coordsAt, coordinates);
  if (points) {
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      if (row.g) {
        coords[2 * i] = row.g.xy[0]!;
        coords[2 * i + 1] = row.g.xy[1]!;
      } else {
        coords[2 * i] = row.x;
        coords[2 * i + 1] = row.y;
      }
    }
  } else {
    let at = 0;
    for (const row of rows) at = copyCoordinates(geometryOf(row), coords, at);
  }
  new Uint32Array(out.buffer, structureAt, structure.length).set(structure.view());
  if (rU32) {
    const right = new Uint32Array(out.buffer, rightAt, n);
    for (let i = 0; i < n; i++) right[i] = rows[i]!.r as number;
  }
  if (attributes) new Uint32Array(out.buffer, attributesAt, attributes.indexes.length).set(attributes.indexes);
  return out;
}

/**
 * What a merge must know of rows before it reads them (a streamed result's
 * header comes first): bitmasks of the id value classes and geometry kinds,
 * kept in the task stats and OR-ed over slices and partitions.
 */
export const FACT_NAMES = ["left_id_classes", "right_id_classes", "geometry_kinds"] as const;
export type PartFacts = Record<typeof FACT_NAMES[number], number>;

export function partFacts(rows: readonly StagedRow[], into: Partial<PartFacts> = {}): PartFacts {
  let l = into.left_id_classes ?? 0, r = into.right_id_classes ?? 0, kinds = into.geometry_kinds ?? 0;
  for (const row of rows) {
    l |= valueClassBit(row.l);
    r |= valueClassBit(row.r);
    kinds |= 1 << KIND_CODES.get(row.g?.kind ?? "Point")!;
  }
  return { left_id_classes: l, right_id_classes: r, geometry_kinds: kinds };
}

export function kindsOf(bits: number): GeometryKind[] {
  return KINDS.filter((_, i) => bits & (1 << i));
}

/** Every row of a part object. @throws {PartFormatError} for bytes that are not one. */
export function decodePart(bytes: Uint8Array): ResultRow[] {
  const reader = new PartReader(bytes);
  const rows: ResultRow[] = [];
  while (reader.advance()) rows.push(reader.row());
  return rows;
}

/**
 * A cursor over a part object's rows: a merge holds each part's bytes and
 * reads the current row's ids, properties and geometry from them, without an
 * object per row.
 */
export class PartReader {
  readonly length: number;
  /** The current row's ids (valid after {@link advance} returned true). */
  l: FeatureId = 0;
  r: FeatureId = 0;
  readonly #meta: PartMeta;
  readonly #left: FeatureId[];
  readonly #right: ArrayLike<FeatureId>;
  readonly #propNames: string[];
  readonly #props: Float64Array;
  readonly #coords: Float64Array;
  readonly #structure: Uint32Array;
  readonly #attributeIndexes: Uint32Array;
  readonly #cursor = { s: 0, c: 0 };
  #row = -1;
  /** The current row's geometry when the part stores structure (read in order: it is variable-length). */
  #geometry: FlatGeometry | undefined;

  /** @throws {PartFormatError} for bytes that are not a part object. */
  constructor(bytes: Uint8Array) {
    // Typed views need aligned offsets: copy unless the bytes start a buffer of their own.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    const view = new DataView(own.buffer);
    if (own.length < 8 || view.getUint32(0, true) !== MAGIC) throw new PartFormatError("Not a staged part object");
    const metaLength = view.getUint32(4, true);
    const head = align8(8 + metaLength);
    if (head + 8 > own.length) throw new PartFormatError("Staged part object is truncated");
    try {
      this.#meta = JSON.parse(new TextDecoder().decode(own.subarray(8, 8 + metaLength)));
    } catch {
      throw new PartFormatError("Staged part object has a corrupt header");
    }
    const structureLength = view.getUint32(head, true);
    const coordinateCount = view.getUint32(head + 4, true);
    const { n, props } = this.#meta;
    const propsAt = head + 8;
    const coordsAt = propsAt + props.length * n * 8;
    const structureAt = coordsAt + coordinateCount * 8;
    const rightAt = structureAt + structureLength * 4;
    const attributesAt = rightAt + (this.#meta.rU32 ? n * 4 : 0);
    const width = this.#meta.attrs?.length ?? 0;
    if (attributesAt + width * n * 4 !== own.length) throw new PartFormatError("Staged part object is truncated");
    this.length = n;
    this.#left = leftIds(this.#meta);
    this.#right = this.#meta.rU32 ? new Uint32Array(own.buffer, rightAt, n) : this.#meta.r ?? [];
    if (this.#right.length !== n) throw new PartFormatError("Staged part object's right ids do not match its rows");
    this.#propNames = props.map((name) => JSON.stringify(name));
    this.#props = new Float64Array(own.buffer, propsAt, props.length * n);
    this.#coords = new Float64Array(own.buffer, coordsAt, coordinateCount);
    this.#structure = new Uint32Array(own.buffer, structureAt, structureLength);
    this.#attributeIndexes = new Uint32Array(own.buffer, attributesAt, width * n);
  }

  /** How many copied attributes each row has. */
  get attributeCount(): number {
    return this.#meta.attrs?.length ?? 0;
  }

  /** The current row's value of copied attribute `k` (null when the feature has none). */
  attribute(k: number): unknown {
    const value = this.#meta.attrs?.[k]?.[this.#attributeIndexes[k * this.length + this.#row]!];
    if (value === undefined) throw new PartFormatError("Staged part object's attribute values do not match");
    return value;
  }

  /** Moves to the next row; false after the last. */
  advance(): boolean {
    const i = ++this.#row;
    if (i >= this.length) return false;
    this.l = this.#left[i]!;
    this.r = this.#right[i]!;
    if (!this.#meta.points) this.#geometry = readGeometry(this.#structure, this.#coords, this.#cursor);
    return true;
  }

  geometry(): FlatGeometry {
    const i = this.#row;
    return this.#geometry ?? { kind: "Point", xy: this.#coords.subarray(2 * i, 2 * i + 2) };
  }

  /** The current row's geometry as GeoJSON text (`geoJSONTextFromFlat`; a point without building one). */
  geometryText(): string {
    if (this.#geometry) return geoJSONTextFromFlat(this.#geometry);
    const i = this.#row;
    return `{"type":"Point","coordinates":[${this.#coords[2 * i]},${this.#coords[2 * i + 1]}]}`;
  }

  /** The current row's extra properties (area, area_m2), or undefined when it has none. */
  properties(): Record<string, number> | undefined {
    const { n, props } = this.#meta;
    if (!props.length) return undefined;
    const p: Record<string, number> = {};
    for (let k = 0; k < props.length; k++) {
      const value = this.#props[k * n + this.#row]!;
      if (!Number.isNaN(value)) p[props[k]!] = value;
    }
    return p;
  }

  /** `,"name":value` for each of the current row's extra properties: JSON members to follow the ids. */
  propertiesText(): string {
    const n = this.#meta.n;
    let out = "";
    for (let k = 0; k < this.#propNames.length; k++) {
      const value = this.#props[k * n + this.#row]!;
      // As JSON.stringify: a non-finite number is null.
      if (!Number.isNaN(value)) out += `,${this.#propNames[k]}:${Number.isFinite(value) ? value : "null"}`;
    }
    return out;
  }

  row(): ResultRow {
    const row: ResultRow = { l: this.l, r: this.r, g: this.geometry() };
    const p = this.properties();
    if (p) row.p = p;
    if (this.attributeCount) row.a = Array.from({ length: this.attributeCount }, (_, k) => this.attribute(k));
    return row;
  }
}

/** The rows' copied attributes as dictionaries of distinct values and, column after column, indexes into them. */
function attributeColumns(rows: readonly StagedRow[]): { dictionaries: unknown[][]; indexes: Uint32Array } | null {
  const width = rows[0]?.a?.length ?? 0;
  if (!width) return null;
  const n = rows.length;
  const dictionaries: unknown[][] = [];
  const indexes = new Uint32Array(width * n);
  for (let k = 0; k < width; k++) {
    const values: unknown[] = [];
    // Primitives by value (1 and "1" apart), JSON values (objects, arrays) by their text.
    const seen = new Map<unknown, number>();
    for (let i = 0; i < n; i++) {
      const value = rows[i]!.a?.[k] ?? null;
      const key = typeof value === "object" && value !== null ? `\0${JSON.stringify(value)}` : value;
      let index = seen.get(key);
      if (index === undefined) {
        seen.set(key, index = values.length);
        values.push(value);
      }
      indexes[k * n + i] = index;
    }
    dictionaries.push(values);
  }
  return { dictionaries, indexes };
}

function geometryOf(row: StagedRow): FlatGeometry {
  return row.g ?? { kind: "Point", xy: Float64Array.of(row.x, row.y) };
}

function leftRuns(rows: readonly StagedRow[]): [FeatureId[], number[]] {
  const ids: FeatureId[] = [], lengths: number[] = [];
  for (const row of rows) {
    if (ids.length && ids[ids.length - 1] === row.l) lengths[lengths.length - 1]!++;
    else {
      ids.push(row.l);
      lengths.push(1);
    }
  }
  return [ids, lengths];
}

/** Every row's left id, from runs or as stored. */
function leftIds(meta: PartMeta): FeatureId[] {
  if (!meta.lRuns) {
    if (meta.l?.length !== meta.n) throw new PartFormatError("Staged part object's left ids do not match its rows");
    return meta.l;
  }
  const [ids, lengths] = meta.lRuns;
  const out: FeatureId[] = new Array(meta.n);
  let at = 0;
  ids.forEach((id, k) => {
    out.fill(id, at, at += lengths[k]!);
  });
  if (at !== meta.n) throw new PartFormatError("Staged part object's left ids do not match its rows");
  return out;
}

/** Appends the geometry's structure; returns its coordinate count (x and y each). */
function describe(g: FlatGeometry, out: Uint32Sink): number {
  out.push(KIND_CODES.get(g.kind)!);
  out.push(g.xy.length);
  const ends = g.ends ?? [];
  out.push(ends.length);
  for (const end of ends) out.push(end);
  const parts = g.parts ?? [];
  out.push(parts.length);
  let coordinates = g.xy.length;
  for (const part of parts) coordinates += describe(part, out);
  return coordinates;
}

function copyCoordinates(g: FlatGeometry, coords: Float64Array, at: number): number {
  coords.set(g.xy, at);
  at += g.xy.length;
  for (const part of g.parts ?? []) at = copyCoordinates(part, coords, at);
  return at;
}

function readGeometry(structure: Uint32Array, coords: Float64Array, cursor: { s: number; c: number }): FlatGeometry {
  const kind = KINDS[structure[cursor.s++]!];
  if (!kind) throw new PartFormatError("Staged part object has an unknown geometry kind");
  const length = structure[cursor.s++]!;
  const geometry: FlatGeometry = { kind, xy: coords.subarray(cursor.c, cursor.c + length) };
  cursor.c += length;
  const endCount = structure[cursor.s++]!;
  if (endCount) geometry.ends = structure.slice(cursor.s, cursor.s + endCount);
  cursor.s += endCount;
  const partCount = structure[cursor.s++]!;
  if (partCount) {
    geometry.parts = [];
    for (let k = 0; k < partCount; k++) geometry.parts.push(readGeometry(structure, coords, cursor));
  }
  return geometry;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** A growable u32 list. */
class Uint32Sink {
  #data = new Uint32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.#data.length) {
      const next = new Uint32Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.length++] = value;
  }

  view(): Uint32Array {
    return this.#data.subarray(0, this.length);
  }
}
