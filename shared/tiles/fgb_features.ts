/**
 * FlatGeobuf features → flat features (`StoredFeature`): a whole file in memory (client uploads, GDAL
 * output), a whole feature section, or single size-prefixed features found by an index search.
 * Knows nothing of where the bytes come from.
 *
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { SIZE_PREFIX_LEN } from "flatgeobuf/lib/mjs/constants.js";
import { Feature } from "flatgeobuf/lib/mjs/flat-geobuf/feature.js";
import { Geometry } from "flatgeobuf/lib/mjs/flat-geobuf/geometry.js";
import { GeometryType } from "flatgeobuf/lib/mjs/flat-geobuf/geometry-type.js";
import { ColumnType } from "flatgeobuf/lib/mjs/flat-geobuf/column-type.js";
import type { FeatureId, FlatGeometry } from "../../wasm/flat_geometry.ts";
import { FlatGeobufFormatError, MissingFeatureIdError } from "./errors.ts";
import type { StoredFeature } from "./fgb_writer.ts";
import { CELLS_COLUMN, ID_COLUMN, propertyOfColumn } from "./stored_columns.ts";
import { type FgbHeader, readLayout } from "./fgb_header.ts";

export interface ParseOptions {
  /** Property holding the feature id (default `"id"`); it is moved out of `properties`. */
  idColumn?: string;
  /**
   * The file is one of ours (a tile or a staged part): column names are mapped back to the user's
   * property names and the internal `_cells` is read into `cells` (stored_columns.ts). Default
   * false: a file from outside keeps its names, and none of them is internal.
   */
  storedColumns?: boolean;
  /** Features without an id: throw {@link MissingFeatureIdError} (default) or use the feature's index. */
  missingId?: "throw" | "index";
}

/**
 * Parses a whole FlatGeobuf file (ours or GDAL's) into flat features, in file order.
 *
 * @throws {FlatGeobufFormatError} for bytes that are not a readable FlatGeobuf file.
 * @throws {MissingFeatureIdError} when features lack the id column (unless `missingId: "index"`).
 * @example
 * ```ts
 * const { header, features } = parseFlatGeobuf(new Uint8Array(await request.arrayBuffer()));
 * if (header.epsg === 3857) reproject(features);
 * ```
 */
export function parseFlatGeobuf(
  bytes: Uint8Array,
  options: ParseOptions = {},
): { header: FgbHeader; features: StoredFeature[] } {
  const layout = readLayout(bytes);
  if (!layout) throw new FlatGeobufFormatError(`FlatGeobuf file is truncated (${bytes.length} bytes)`);
  if (bytes.length < layout.featuresOffset) {
    throw new FlatGeobufFormatError(`FlatGeobuf file is truncated inside its index (${bytes.length} bytes)`);
  }
  const decoder = new FeatureDecoder(layout.header, options, bytes.length);
  const features = decodeFeatureSection(bytes, layout.featuresOffset, decoder);
  decoder.finish();
  return { header: layout.header, features };
}

/** Which features a run of size-prefixed features holds: the first one's position in the file, and how many. */
export interface FeatureRun {
  first: number;
  count: number;
}

/**
 * Visits the size-prefixed features from `offset` to the end of `bytes` (a file's whole feature
 * section, or the `run` of it that `bytes` holds) with their position in `bytes` and their index in
 * the run; returns how many there were.
 */
function scanFeatureSection(
  bytes: Uint8Array,
  offset: number,
  decoder: FeatureDecoder,
  run: FeatureRun | undefined,
  visit: (bb: flatbuffers.ByteBuffer, position: number, k: number) => void,
): number {
  const bb = new flatbuffers.ByteBuffer(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = run?.first ?? 0;
  let count = 0;
  while (offset < bytes.length) {
    if (offset + SIZE_PREFIX_LEN > bytes.length) {
      throw new FlatGeobufFormatError("FlatGeobuf file ends inside a feature");
    }
    const length = view.getUint32(offset, true);
    if (offset + SIZE_PREFIX_LEN + length > bytes.length) {
      throw new FlatGeobufFormatError(`Feature ${first + count} runs past the end of the file`);
    }
    visit(bb, offset, count++);
    offset += SIZE_PREFIX_LEN + length;
  }
  const promised = run?.count ?? decoder.header.featuresCount;
  if ((run || promised > 0) && count !== promised) {
    throw new FlatGeobufFormatError(
      run
        ? `FlatGeobuf features ${first}…${first + promised - 1} hold ${count} features`
        : `FlatGeobuf header promises ${promised} features but the file holds ${count}`,
    );
  }
  return count;
}

/** Decodes a whole feature section, or a run of it (see {@link scanFeatureSection}). */
export function decodeFeatureSection(
  bytes: Uint8Array,
  offset: number,
  decoder: FeatureDecoder,
  run?: FeatureRun,
): StoredFeature[] {
  const features: StoredFeature[] = [];
  const first = run?.first ?? 0;
  scanFeatureSection(bytes, offset, decoder, run, (bb, position, k) => {
    features.push(decoder.decode(bb, position, first + k));
  });
  return features;
}

/** Point features as columns: ids, and x, y of feature i at 2i, 2i + 1 (no object per feature). */
export interface PointColumns {
  ids: FeatureId[];
  xy: Float64Array;
}

/** {@link decodeFeatureSection} for a section (or run) of Points with no property but the id, as columns. */
export function decodePointSection(
  bytes: Uint8Array,
  offset: number,
  decoder: FeatureDecoder,
  run?: FeatureRun,
): PointColumns {
  const ids: FeatureId[] = [];
  const first = run?.first ?? 0;
  let xy = new Float64Array(2 * Math.max(run?.count ?? decoder.header.featuresCount, 16));
  scanFeatureSection(bytes, offset, decoder, run, (bb, position, k) => {
    if (2 * k === xy.length) {
      const grown = new Float64Array(2 * xy.length);
      grown.set(xy);
      xy = grown;
    }
    ids.push(decoder.decodePoint(bb, position, first + k, xy, k));
  });
  return { ids, xy: xy.length === 2 * ids.length ? xy : xy.slice(0, 2 * ids.length) };
}

/** Turns FlatGeobuf feature tables into FlatFeature, taking the id from the id column. */
export class FeatureDecoder {
  readonly idColumn: string;
  readonly #missingId: "throw" | "index";
  readonly #missing: number[] = [];
  readonly #idIndex: number;
  /** Per column: the property it holds, or null (the id, an internal field). */
  readonly #names: (string | null)[];
  readonly #cellsIndex: number;
  readonly #arena: Arena;
  readonly #feature = new Feature();
  readonly #geometry = new Geometry();
  /** The id column's value of the feature being decoded. */
  #id: unknown;
  /** The `_cells` column's value of the feature being decoded. */
  #cells: unknown;

  /** `sourceBytes`: the size of the file the features come from (sizes the coordinate arena). */
  constructor(readonly header: FgbHeader, options: ParseOptions, sourceBytes: number) {
    this.#arena = new Arena(sourceBytes);
    this.idColumn = options.idColumn ?? ID_COLUMN;
    this.#missingId = options.missingId ?? "throw";
    this.#idIndex = header.columns.findIndex((column) => column.name === this.idColumn);
    const stored = options.storedColumns ?? false;
    this.#names = header.columns.map((column, i) =>
      i === this.#idIndex ? null : stored ? propertyOfColumn(column.name) : column.name
    );
    this.#cellsIndex = stored ? header.columns.findIndex((column) => column.name === CELLS_COLUMN) : -1;
  }

  /** Decodes the size-prefixed feature at `position` of `bb`; `index` is its position in the file. */
  decode(bb: flatbuffers.ByteBuffer, position: number, index: number): StoredFeature {
    let geometry: FlatGeometry;
    let properties: Record<string, unknown>;
    try {
      geometry = flatFromFgbGeometry(this.#aim(bb, position), this.header.geometryType, this.#arena);
      properties = this.#decodeProperties(bb, this.#feature);
    } catch (error) {
      throw corrupt(index, error);
    }
    const feature: StoredFeature = { id: this.#resolveId(index), geometry, properties };
    if (typeof this.#cells === "string") feature.cells = this.#cells;
    return feature;
  }

  /**
   * Decodes a Point feature with no property but its id into `xy` at 2 × `slot`; returns its id (`index`: its
   * position in the file).
   * @throws {FlatGeobufFormatError} when it is anything else (read it with {@link decode}).
   */
  decodePoint(bb: flatbuffers.ByteBuffer, position: number, index: number, xy: Float64Array, slot = index): FeatureId {
    try {
      const table = this.#aim(bb, position);
      const field = bb.__offset(table.bb_pos, 6);
      if (!field || bb.__vector_len(table.bb_pos + field) !== 2) throw new DecodeError("not a point");
      const start = bb.__vector(table.bb_pos + field);
      const view = viewOf(bb.bytes());
      if (start + 16 > view.byteLength) throw new DecodeError("geometry vector runs past its feature");
      xy[2 * slot] = view.getFloat64(start, true);
      xy[2 * slot + 1] = view.getFloat64(start + 8, true);
      if (this.#decodeProperties(bb, this.#feature) !== NO_PROPERTIES) throw new DecodeError("a point with properties");
    } catch (error) {
      throw corrupt(index, error);
    }
    return this.#resolveId(index);
  }

  /**
   * Aims the decoder's accessors at the feature at `position` and returns its geometry table. One
   * accessor of each kind, re-aimed per feature: a million points would otherwise be two million objects.
   */
  #aim(bb: flatbuffers.ByteBuffer, position: number): Geometry {
    bb.setPosition(position);
    const feature = Feature.getSizePrefixedRootAsFeature(bb, this.#feature);
    const table = feature.geometry(this.#geometry);
    if (!table) throw new DecodeError("no geometry");
    return table;
  }

  /** The id column's value of the feature just decoded, or its position when it has none. */
  #resolveId(index: number): FeatureId {
    const raw = this.#id;
    if (typeof raw === "number" || (typeof raw === "string" && raw !== "")) return raw;
    if (this.#missingId === "throw") this.#missing.push(index);
    return index;
  }

  /**
   * FlatGeobuf property decoding (as flatgeobuf's `parseProperties`), read in place from the buffer,
   * with the id column kept apart (in `#id`) instead of deleted afterwards (a `delete` would turn
   * every properties object into a slow dictionary-mode object).
   */
  #decodeProperties(bb: flatbuffers.ByteBuffer, feature: Feature): Record<string, unknown> {
    let properties: Record<string, unknown> | undefined;
    this.#id = undefined;
    this.#cells = undefined;
    const columns = this.header.columns;
    const field = bb.__offset(feature.bb_pos, 6);
    if (!field || columns.length === 0) return NO_PROPERTIES;
    const bytes = bb.bytes();
    const view = viewOf(bytes);
    let offset = bb.__vector(feature.bb_pos + field);
    const end = offset + bb.__vector_len(feature.bb_pos + field);
    if (end > bytes.length) throw new FlatGeobufFormatError("Properties run past their feature");
    while (offset < end) {
      const i = view.getUint16(offset, true);
      offset += 2;
      const column = columns[i];
      if (!column) throw new FlatGeobufFormatError(`Property refers to column ${i}, but there are ${columns.length}`);
      let value: unknown;
      switch (column.type) {
        case ColumnType.Bool:
          value = view.getUint8(offset) !== 0;
          offset += 1;
          break;
        case ColumnType.Byte:
          value = view.getInt8(offset);
          offset += 1;
          break;
        case ColumnType.UByte:
          value = view.getUint8(offset);
          offset += 1;
          break;
        case ColumnType.Short:
          value = view.getInt16(offset, true);
          offset += 2;
          break;
        case ColumnType.UShort:
          value = view.getUint16(offset, true);
          offset += 2;
          break;
        case ColumnType.Int:
          value = view.getInt32(offset, true);
          offset += 4;
          break;
        case ColumnType.UInt:
          value = view.getUint32(offset, true);
          offset += 4;
          break;
        case ColumnType.Long:
          value = Number(view.getBigInt64(offset, true));
          offset += 8;
          break;
        case ColumnType.ULong:
          value = Number(view.getBigUint64(offset, true));
          offset += 8;
          break;
        case ColumnType.Float:
          value = view.getFloat32(offset, true);
          offset += 4;
          break;
        case ColumnType.Double:
          value = view.getFloat64(offset, true);
          offset += 8;
          break;
        case ColumnType.String:
        case ColumnType.DateTime:
        case ColumnType.Json:
        case ColumnType.Binary: {
          const n = view.getUint32(offset, true);
          offset += 4;
          if (offset + n > end) throw new FlatGeobufFormatError(`Property "${column.name}" runs past its feature`);
          const encoded = bytes.subarray(offset, offset + n);
          offset += n;
          if (column.type === ColumnType.Binary) value = encoded.slice();
          else if (column.type === ColumnType.Json) value = JSON.parse(textDecoder.decode(encoded));
          else value = readUtf8(encoded);
          break;
        }
        default:
          throw new FlatGeobufFormatError(`Column "${column.name}" has unknown type ${column.type}`);
      }
      if (i === this.#idIndex) this.#id = value;
      else if (i === this.#cellsIndex) this.#cells = value;
      else {
        const name = this.#names[i];
        // defineProperty: a property named `__proto__` is data, not the object's prototype.
        if (name !== null && name !== undefined) {
          Object.defineProperty(properties ??= {}, name, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
    }
    return properties ?? NO_PROPERTIES;
  }

  finish(): void {
    if (this.#missing.length > 0) throw new MissingFeatureIdError(this.idColumn, this.#missing);
  }
}

/** What this reader found wrong inside a feature (its message names the fault in the file). */
class DecodeError extends SyntaxError {}

/**
 * A decoding failure of feature `index`, as a format error. An error flatbuffers or a DataView raised
 * on bad offsets names the reading code, not the file: the caller is told only that the feature is corrupt.
 */
function corrupt(index: number, error: unknown): FlatGeobufFormatError {
  if (error instanceof FlatGeobufFormatError) return error;
  const why = error instanceof DecodeError ? error.message : "its tables do not decode";
  return new FlatGeobufFormatError(`Feature ${index} is corrupt: ${why}`, { cause: error });
}

const textDecoder = new TextDecoder();
/** The properties of every feature that has none but its id (most point datasets): one shared, frozen object. */
const NO_PROPERTIES: Record<string, unknown> = Object.freeze({});

/** UTF-8 decoding with an ASCII fast path (short strings dominate: names, codes). */
function readUtf8(bytes: Uint8Array): string {
  if (bytes.length > 32) return textDecoder.decode(bytes);
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c >= 0x80) return textDecoder.decode(bytes);
    out += String.fromCharCode(c);
  }
  return out;
}

const KINDS: Partial<Record<GeometryType, FlatGeometry["kind"]>> = {
  [GeometryType.Point]: "Point",
  [GeometryType.MultiPoint]: "MultiPoint",
  [GeometryType.LineString]: "LineString",
  [GeometryType.MultiLineString]: "MultiLineString",
  [GeometryType.Polygon]: "Polygon",
  [GeometryType.MultiPolygon]: "MultiPolygon",
};

function flatFromFgbGeometry(table: Geometry, headerType: GeometryType, arena: Arena): FlatGeometry {
  const type = headerType === GeometryType.Unknown ? table.type() : headerType;
  const kind = KINDS[type];
  if (!kind) {
    throw new FlatGeobufFormatError(
      `Geometry type ${
        GeometryType[type] ?? type
      } is not supported; use (Multi)Point, (Multi)LineString or (Multi)Polygon`,
    );
  }
  if (kind === "MultiPolygon") {
    const parts: FlatGeometry[] = [];
    for (let i = 0; i < table.partsLength(); i++) {
      const part = table.parts(i);
      if (part) parts.push(flatFromFgbGeometry(part, GeometryType.Polygon, arena));
    }
    return { kind, xy: new Float64Array(0), parts };
  }
  const xy = copyVector(table, 6, 8, arena) as Float64Array;
  if (xy.length === 0 || xy.length % 2 !== 0) throw new FlatGeobufFormatError(`Geometry has ${xy.length} coordinates`);
  const geometry: FlatGeometry = { kind, xy };
  if (kind === "Polygon" || kind === "MultiLineString") {
    const ends = copyVector(table, 4, 4, arena) as Uint32Array;
    if (ends.length > 1) geometry.ends = ends;
  }
  return geometry;
}

/**
 * Copies a vector field of a geometry table (`xy` at vtable slot 6, `ends` at 4) out of the file
 * buffer into the arena. A copy is needed anyway (features must not pin a whole tile), and it also
 * copes with GDAL files and ranged reads where the vector is not aligned to its element size.
 */
function copyVector(table: Geometry, slot: number, elementSize: 4 | 8, arena: Arena): Float64Array | Uint32Array {
  const bb = table.bb!;
  const field = bb.__offset(table.bb_pos, slot);
  const length = field ? bb.__vector_len(table.bb_pos + field) : 0;
  const out = elementSize === 8 ? arena.f64(length) : arena.u32(length);
  if (length === 0) return out;
  const start = bb.__vector(table.bb_pos + field);
  const bytes = bb.bytes();
  if (start + length * elementSize > bytes.length) {
    throw new FlatGeobufFormatError("Geometry vector runs past its feature");
  }
  if (length > SHORT_VECTOR) {
    new Uint8Array(out.buffer, out.byteOffset, length * elementSize).set(
      bytes.subarray(start, start + length * elementSize),
    );
    return out;
  }
  // Short vectors (a point's two numbers) element by element: two typed-array views cost more than the copy.
  const view = viewOf(bytes);
  if (elementSize === 8) { for (let i = 0; i < length; i++) out[i] = view.getFloat64(start + 8 * i, true); }
  else for (let i = 0; i < length; i++) out[i] = view.getUint32(start + 4 * i, true);
  return out;
}

const SHORT_VECTOR = 64;
let viewBytes: Uint8Array | undefined;
let view: DataView | undefined;

/** A DataView of `bytes`, kept while the same buffer is read (one per tile, not per feature). */
function viewOf(bytes: Uint8Array): DataView {
  if (bytes !== viewBytes) {
    viewBytes = bytes;
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return view!;
}

/**
 * Hands out typed arrays carved from shared 512 KiB blocks: one allocation per block instead of
 * one `ArrayBuffer` per coordinate vector (the dominant cost of reading many small features).
 */
class Arena {
  static readonly BLOCK = 1 << 19;
  #block = new ArrayBuffer(0);
  #used = 0;
  #at = 0;
  /** Block size: no larger than the file decoded (a zeroed 512 KiB block per small tile adds up). */
  readonly #blockBytes: number;

  constructor(sourceBytes: number) {
    this.#blockBytes = Math.min(Arena.BLOCK, Math.max(4096, (sourceBytes + 7) & ~7));
  }

  f64(n: number): Float64Array {
    const block = this.#take(n * 8);
    return new Float64Array(block, this.#at, n);
  }

  u32(n: number): Uint32Array {
    const block = this.#take(n * 4);
    return new Uint32Array(block, this.#at, n);
  }

  /** A buffer with `bytes` free at `this.#at` (8-byte aligned). */
  #take(bytes: number): ArrayBuffer {
    if (bytes > Arena.BLOCK / 8) {
      this.#at = 0;
      return new ArrayBuffer(bytes);
    }
    let at = (this.#used + 7) & ~7;
    if (at + bytes > this.#block.byteLength) {
      this.#block = new ArrayBuffer(Math.max(this.#blockBytes, bytes));
      at = 0;
    }
    this.#at = at;
    this.#used = at + bytes;
    return this.#block;
  }
}
