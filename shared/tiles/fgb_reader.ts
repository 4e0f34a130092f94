/**
 * FlatGeobuf → FlatFeature, from a whole file in memory (client uploads, GDAL output) or by bbox
 * from a tile in R2 with ranged reads driven by flatgeobuf's own `streamSearch`.
 *
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { magicbytes, SIZE_PREFIX_LEN } from "flatgeobuf/lib/mjs/constants.js";
import type { ColumnMeta } from "flatgeobuf/lib/mjs/column-meta.js";
import { Feature } from "flatgeobuf/lib/mjs/flat-geobuf/feature.js";
import { Geometry } from "flatgeobuf/lib/mjs/flat-geobuf/geometry.js";
import { GeometryType } from "flatgeobuf/lib/mjs/flat-geobuf/geometry-type.js";
import { ColumnType } from "flatgeobuf/lib/mjs/flat-geobuf/column-type.js";
import { fromByteBuffer, type HeaderMeta } from "flatgeobuf/lib/mjs/header-meta.js";
import { calcTreeSize, NODE_ITEM_BYTE_LEN, streamSearch } from "flatgeobuf/lib/mjs/packedrtree.js";
import type { FeatureId, FlatGeometry } from "../../wasm/flat_geometry.ts";
import { FlatGeobufFormatError, MissingFeatureIdError, TileNotFoundError } from "./errors.ts";
import { type BBox, bboxesIntersect, geometryBBox } from "./geometry_bbox.ts";
import type { StoredFeature } from "./fgb_writer.ts";
import { CELLS_COLUMN, ID_COLUMN, propertyOfColumn } from "./stored_columns.ts";

/** What a FlatGeobuf header says, in the parts the engine uses. */
export interface FgbHeader {
  geometryType: GeometryType;
  featuresCount: number;
  /** 0 when the file has no spatial index. */
  indexNodeSize: number;
  envelope: BBox | null;
  /** The EPSG code of the header CRS (`null` when none or not EPSG). */
  epsg: number | null;
  crs: HeaderMeta["crs"];
  columns: ColumnMeta[];
  title: string | null;
  metadata: string | null;
}

/** Byte layout of a file, known once the header is read. */
export interface FgbLayout {
  header: FgbHeader;
  /** Where the index starts (after magic bytes, size prefix and header). */
  indexOffset: number;
  indexLength: number;
  /** Where the features start; leaf offsets in the index are relative to it. */
  featuresOffset: number;
}

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

const HEADER_MAX_BYTES = 10 * 1024 * 1024;

/**
 * Reads the header from the first bytes of a file.
 *
 * @returns the layout, or `null` when `bytes` is too short to hold the whole header (read more).
 * @throws {FlatGeobufFormatError} when the bytes are not FlatGeobuf.
 */
export function readLayout(bytes: Uint8Array): FgbLayout | null {
  if (bytes.length < magicbytes.length + SIZE_PREFIX_LEN) {
    if (bytes.length >= 3 && !isMagic(bytes)) {
      throw new FlatGeobufFormatError("Not a FlatGeobuf file (bad magic bytes)");
    }
    return null;
  }
  if (!isMagic(bytes)) throw new FlatGeobufFormatError("Not a FlatGeobuf file (bad magic bytes)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(magicbytes.length, true);
  if (headerLength < 8 || headerLength > HEADER_MAX_BYTES) {
    throw new FlatGeobufFormatError(`FlatGeobuf header length ${headerLength} is out of range 8..${HEADER_MAX_BYTES}`);
  }
  const indexOffset = magicbytes.length + SIZE_PREFIX_LEN + headerLength;
  if (bytes.length < indexOffset) return null;
  let meta: HeaderMeta;
  try {
    const headerBytes = bytes.slice(magicbytes.length, indexOffset);
    meta = fromByteBuffer(new flatbuffers.ByteBuffer(headerBytes));
  } catch (error) {
    throw new FlatGeobufFormatError("FlatGeobuf header is corrupt (its tables do not decode)", { cause: error });
  }
  const count = meta.featuresCount;
  if (!Number.isSafeInteger(count) || count < 0) throw new FlatGeobufFormatError(`Feature count ${count} is invalid`);
  if (meta.indexNodeSize === 1) throw new FlatGeobufFormatError("Index node size 1 is invalid (must be 0 or ≥ 2)");
  // calcTreeSize loops forever for 0 items (flatgeobuf #430): an empty file has no index to read.
  const indexNodeSize = count > 0 ? meta.indexNodeSize : 0;
  const indexLength = indexNodeSize > 0 ? calcTreeSize(count, indexNodeSize) : 0;
  const envelope = meta.envelope && meta.envelope.length >= 4
    ? [meta.envelope[0]!, meta.envelope[1]!, meta.envelope[2]!, meta.envelope[3]!] as BBox
    : null;
  return {
    header: {
      geometryType: meta.geometryType,
      featuresCount: count,
      indexNodeSize,
      envelope,
      epsg: epsgOf(meta.crs),
      crs: meta.crs,
      columns: meta.columns ?? [],
      title: meta.title,
      metadata: meta.metadata,
    },
    indexOffset,
    indexLength,
    featuresOffset: indexOffset + indexLength,
  };
}

function isMagic(bytes: Uint8Array): boolean {
  // "fgb", major version 3, "fgb", patch: accept any patch level of version 3.
  return bytes[0] === 0x66 && bytes[1] === 0x67 && bytes[2] === 0x62 && bytes[3] === 0x03 &&
    bytes[4] === 0x66 && bytes[5] === 0x67 && bytes[6] === 0x62;
}

function epsgOf(crs: HeaderMeta["crs"]): number | null {
  if (!crs) return null;
  const org = crs.org?.toUpperCase() ?? "EPSG";
  if (org === "EPSG" && crs.code > 0) return crs.code;
  const match = /^EPSG:(\d+)$/i.exec(crs.code_string ?? "");
  return match ? Number(match[1]) : null;
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

/**
 * Visits the size-prefixed features from `offset` to the end of `bytes` (a file's whole feature
 * section) with their position and index; returns how many there were.
 */
function scanFeatureSection(
  bytes: Uint8Array,
  offset: number,
  decoder: FeatureDecoder,
  visit: (bb: flatbuffers.ByteBuffer, position: number, index: number) => void,
): number {
  const bb = new flatbuffers.ByteBuffer(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  while (offset < bytes.length) {
    if (offset + SIZE_PREFIX_LEN > bytes.length) {
      throw new FlatGeobufFormatError("FlatGeobuf file ends inside a feature");
    }
    const length = view.getUint32(offset, true);
    if (offset + SIZE_PREFIX_LEN + length > bytes.length) {
      throw new FlatGeobufFormatError(`Feature ${count} runs past the end of the file`);
    }
    visit(bb, offset, count++);
    offset += SIZE_PREFIX_LEN + length;
  }
  const promised = decoder.header.featuresCount;
  if (promised > 0 && count !== promised) {
    throw new FlatGeobufFormatError(`FlatGeobuf header promises ${promised} features but the file holds ${count}`);
  }
  return count;
}

/** Decodes a whole feature section (see {@link scanFeatureSection}). */
function decodeFeatureSection(bytes: Uint8Array, offset: number, decoder: FeatureDecoder): StoredFeature[] {
  const features: StoredFeature[] = [];
  scanFeatureSection(bytes, offset, decoder, (bb, position, index) => {
    features.push(decoder.decode(bb, position, index));
  });
  return features;
}

/** Point features as columns: ids, and x, y of feature i at 2i, 2i + 1 (no object per feature). */
export interface PointColumns {
  ids: FeatureId[];
  xy: Float64Array;
}

/** {@link decodeFeatureSection} for a section of Points with no property but the id, as columns. */
function decodePointSection(bytes: Uint8Array, offset: number, decoder: FeatureDecoder): PointColumns {
  const ids: FeatureId[] = [];
  let xy = new Float64Array(2 * Math.max(decoder.header.featuresCount, 16));
  scanFeatureSection(bytes, offset, decoder, (bb, position, index) => {
    if (2 * index === xy.length) {
      const grown = new Float64Array(2 * xy.length);
      grown.set(xy);
      xy = grown;
    }
    ids.push(decoder.decodePoint(bb, position, index, xy));
  });
  return { ids, xy: xy.length === 2 * ids.length ? xy : xy.slice(0, 2 * ids.length) };
}

/** Turns FlatGeobuf feature tables into FlatFeature, taking the id from the id column. */
class FeatureDecoder {
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
      geometry = toFlatGeometry(this.#aim(bb, position), this.header.geometryType, this.#arena);
      properties = this.#decodeProperties(bb, this.#feature);
    } catch (error) {
      throw corrupt(index, error);
    }
    const feature: StoredFeature = { id: this.#resolveId(index), geometry, properties };
    if (typeof this.#cells === "string") feature.cells = this.#cells;
    return feature;
  }

  /**
   * Decodes a Point feature with no property but its id into `xy` at 2 × `index`; returns its id.
   * @throws {FlatGeobufFormatError} when it is anything else (read it with {@link decode}).
   */
  decodePoint(bb: flatbuffers.ByteBuffer, position: number, index: number, xy: Float64Array): FeatureId {
    try {
      const table = this.#aim(bb, position);
      const field = bb.__offset(table.bb_pos, 6);
      if (!field || bb.__vector_len(table.bb_pos + field) !== 2) throw new DecodeError("not a point");
      const start = bb.__vector(table.bb_pos + field);
      const view = viewOf(bb.bytes());
      if (start + 16 > view.byteLength) throw new DecodeError("geometry vector runs past its feature");
      xy[2 * index] = view.getFloat64(start, true);
      xy[2 * index + 1] = view.getFloat64(start + 8, true);
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
class DecodeError extends Error {}

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

function toFlatGeometry(table: Geometry, headerType: GeometryType, arena: Arena): FlatGeometry {
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
      if (part) parts.push(toFlatGeometry(part, GeometryType.Polygon, arena));
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

// ---------------------------------------------------------------------------------------------
// R2

/** The part of an R2 object body the reader uses (structurally an `R2ObjectBody`). */
export interface TileObjectBody {
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The part of a Workers `R2Bucket` the tile layer uses; a real `R2Bucket` satisfies it. */
export interface TileBucket {
  head(key: string): Promise<{ readonly size: number } | null>;
  get(key: string, options?: { range?: { offset: number; length: number } }): Promise<TileObjectBody | null>;
  put(
    key: string,
    value: ArrayBuffer | ArrayBufferView | string,
    options?: { httpMetadata?: { contentType?: string }; customMetadata?: Record<string, string> },
  ): Promise<unknown>;
}

export interface TileReaderOptions {
  /** Objects up to this size are read whole once and searched in memory (default 512 KiB). */
  wholeObjectThreshold?: number;
  /** First ranged read: header plus the upper index levels (default 32 KiB). */
  prefetchBytes?: number;
  /** Feature ranges closer than this are fetched in one request (default 16 KiB). */
  mergeGapBytes?: number;
  /** Upper bound of one batched feature request (default 4 MiB). */
  maxBatchBytes?: number;
  /** The object size when already known (the manifest's `bytes`): saves the HEAD request. */
  size?: number;
  /** Property holding the feature id (default `"id"`). Tiles are ours: their column names are read as stored_columns.ts says. */
  idColumn?: string;
}

/** What a reader fetched from R2: requests issued (HEAD included) and body bytes received. */
export interface TileReadStats {
  requests: number;
  bytesRead: number;
}

/**
 * Searches one FlatGeobuf tile in R2 by bbox. Small tiles are read whole once; larger ones are
 * read in ranges: the header (with the upper index levels), the index nodes `streamSearch` asks
 * for, then the matching features with nearby ranges batched into one request.
 *
 * @example
 * ```ts
 * const reader = await R2TileReader.open(env.TILES, entry.key, { size: entry.bytes });
 * for await (const feature of reader.search([-74.1, 40.6, -73.9, 40.8])) use(feature);
 * ```
 */
export class R2TileReader {
  readonly stats: TileReadStats = { requests: 0, bytesRead: 0 };
  #layout!: FgbLayout;
  /** Bytes from offset 0 held in memory: the whole object, or the prefetched head of it. */
  #head: Uint8Array = new Uint8Array(0);
  #decoder!: FeatureDecoder;

  private constructor(
    readonly bucket: TileBucket,
    readonly key: string,
    readonly size: number,
    readonly mode: "whole" | "ranged",
    readonly options: Required<Omit<TileReaderOptions, "size">>,
  ) {}

  /**
   * Opens a tile: one HEAD (skipped with `options.size`), then either one GET of the whole object
   * or one ranged GET of its first bytes.
   *
   * @throws {TileNotFoundError} when the key has no object.
   * @throws {FlatGeobufFormatError} when the object is not FlatGeobuf.
   */
  static async open(bucket: TileBucket, key: string, options: TileReaderOptions = {}): Promise<R2TileReader> {
    const resolved = {
      wholeObjectThreshold: options.wholeObjectThreshold ?? 512 * 1024,
      prefetchBytes: options.prefetchBytes ?? 32 * 1024,
      mergeGapBytes: options.mergeGapBytes ?? 16 * 1024,
      maxBatchBytes: options.maxBatchBytes ?? 4 * 1024 * 1024,
      idColumn: options.idColumn ?? ID_COLUMN,
    };
    const stats: TileReadStats = { requests: 0, bytesRead: 0 };
    let size = options.size;
    if (size === undefined) {
      stats.requests++;
      const head = await bucket.head(key);
      if (!head) throw new TileNotFoundError(key);
      size = head.size;
    }
    const reader = new R2TileReader(
      bucket,
      key,
      size,
      size <= resolved.wholeObjectThreshold ? "whole" : "ranged",
      resolved,
    );
    reader.stats.requests += stats.requests;
    if (reader.mode === "whole") {
      reader.#head = await reader.#fetchWhole();
    } else {
      reader.#head = await reader.#fetch(0, Math.min(size, resolved.prefetchBytes));
    }
    let layout = readLayout(reader.#head);
    if (!layout) {
      // A header larger than the prefetch: read exactly as much as it says.
      const headerLength = new DataView(reader.#head.buffer, reader.#head.byteOffset).getUint32(8, true);
      const end = magicbytes.length + SIZE_PREFIX_LEN + headerLength;
      if (end > size) throw new FlatGeobufFormatError(`Tile "${key}" is truncated inside its header`);
      const rest = await reader.#fetch(reader.#head.length, end - reader.#head.length);
      const joined = new Uint8Array(end);
      joined.set(reader.#head);
      joined.set(rest, reader.#head.length);
      reader.#head = joined;
      layout = readLayout(joined)!;
    }
    if (layout.featuresOffset > size) throw new FlatGeobufFormatError(`Tile "${key}" is truncated inside its index`);
    reader.#layout = layout;
    reader.#decoder = new FeatureDecoder(
      layout.header,
      { idColumn: resolved.idColumn, missingId: "index", storedColumns: true },
      size,
    );
    return reader;
  }

  get header(): FgbHeader {
    return this.#layout.header;
  }

  /**
   * The features whose bbox intersects `bbox` (closed boxes: touching counts), in file order.
   * An empty tile yields nothing; a tile without an index is read whole and filtered.
   */
  async *search(bbox: Readonly<BBox>): AsyncGenerator<StoredFeature> {
    const { header, featuresOffset, indexOffset, indexLength } = this.#layout;
    if (header.featuresCount === 0) return;
    if (header.indexNodeSize === 0) {
      for (const feature of await this.#scanAll()) {
        const box = geometryBBox(feature.geometry);
        if (box && bboxesIntersect(box, bbox)) yield feature;
      }
      return;
    }
    const readNode = async (offsetInIndex: number, length: number): Promise<ArrayBuffer> => {
      if (offsetInIndex < 0 || offsetInIndex + length > indexLength) {
        throw new FlatGeobufFormatError(`Tile "${this.key}" has a corrupt index (node range past its end)`);
      }
      const bytes = await this.#read(indexOffset + offsetInIndex, length);
      return bytes.slice().buffer;
    };
    const rect = { minX: bbox[0], minY: bbox[1], maxX: bbox[2], maxY: bbox[3] };
    const hits = await collectHits(header.featuresCount, header.indexNodeSize, rect, readNode);
    const dataLength = this.size - featuresOffset;
    for (const batch of batchRanges(hits, dataLength, this.options.mergeGapBytes, this.options.maxBatchBytes)) {
      const bytes = await this.#read(featuresOffset + batch.start, batch.end - batch.start);
      const bb = new flatbuffers.ByteBuffer(bytes);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (const hit of batch.hits) {
        const at = hit.offset - batch.start;
        if (at + SIZE_PREFIX_LEN > bytes.length || at + SIZE_PREFIX_LEN + view.getUint32(at, true) > bytes.length) {
          throw new FlatGeobufFormatError(`Tile "${this.key}": feature ${hit.index} runs past its range`);
        }
        yield this.#decoder.decode(bb, at, hit.index);
      }
    }
  }

  /** {@link search}, collected into an array. */
  async collect(bbox: Readonly<BBox>): Promise<StoredFeature[]> {
    const out: StoredFeature[] = [];
    for await (const feature of this.search(bbox)) out.push(feature);
    return out;
  }

  /** Every feature of the tile, in file order. */
  async all(): Promise<StoredFeature[]> {
    return await this.#scanAll();
  }

  /**
   * Every feature of the tile as point columns, in file order, when it holds Points with no property
   * but the id (a point dataset's tiles); null otherwise (read it with {@link all}).
   */
  async allPoints(): Promise<PointColumns | null> {
    const { header } = this.#layout;
    const idOnly = header.columns.every((column) => column.name === this.options.idColumn);
    if (header.geometryType !== GeometryType.Point || !idOnly) return null;
    const [bytes, offset] = await this.#featureSection();
    return decodePointSection(bytes, offset, this.#decoder);
  }

  async #scanAll(): Promise<StoredFeature[]> {
    const [bytes, offset] = await this.#featureSection();
    return decodeFeatureSection(bytes, offset, this.#decoder);
  }

  /** Bytes holding the feature section, and where in them it starts. */
  async #featureSection(): Promise<[Uint8Array, number]> {
    const { featuresOffset } = this.#layout;
    if (this.#head.length >= this.size) return [this.#head, featuresOffset];
    // The feature section alone: a scan has no use for the index (a point tile's index is a third of it).
    const from = Math.max(this.#head.length, featuresOffset);
    const rest = await this.#fetch(from, this.size - from);
    const section = new Uint8Array(this.size - featuresOffset);
    if (from > featuresOffset) section.set(this.#head.subarray(featuresOffset, from));
    section.set(rest, from - featuresOffset);
    return [section, 0];
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length <= this.#head.length) return this.#head.subarray(offset, offset + length);
    if (offset + length > this.size) {
      throw new FlatGeobufFormatError(`Tile "${this.key}" is truncated: needs bytes up to ${offset + length}`);
    }
    return await this.#fetch(offset, length);
  }

  async #fetchWhole(): Promise<Uint8Array> {
    this.stats.requests++;
    const object = await this.bucket.get(this.key);
    if (!object) throw new TileNotFoundError(this.key);
    const bytes = new Uint8Array(await object.arrayBuffer());
    this.stats.bytesRead += bytes.length;
    return bytes;
  }

  async #fetch(offset: number, length: number): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    this.stats.requests++;
    const object = await this.bucket.get(this.key, { range: { offset, length } });
    if (!object) throw new TileNotFoundError(this.key);
    const bytes = new Uint8Array(await object.arrayBuffer());
    this.stats.bytesRead += bytes.length;
    if (bytes.length !== length) {
      throw new FlatGeobufFormatError(`Tile "${this.key}": asked ${length} bytes at ${offset}, got ${bytes.length}`);
    }
    return bytes;
  }
}

interface Hit {
  /** Offset of the size-prefixed feature in the features section. */
  offset: number;
  /** Position of the feature in the file. */
  index: number;
  /** Upper bound of its byte length (to the next feature, or to the end of the data). */
  length: number;
}

// flatgeobuf 4.5.0's streamSearch logs every step with console.debug (strings built, then
// printed by Deno and by workerd's log pipe). Silence console.debug while any search runs here.
// (`console` is reached through globalThis: src/'s compiler config does not declare it.)
type DebugFn = (...data: unknown[]) => void;
const host = globalThis as unknown as { console: { debug: DebugFn } };
let quietSearches = 0;
let savedDebug: DebugFn | undefined;

/** Runs flatgeobuf's `streamSearch` to the end and returns the hits sorted by offset. */
async function collectHits(
  count: number,
  nodeSize: number,
  rect: { minX: number; minY: number; maxX: number; maxY: number },
  readNode: (offset: number, length: number) => Promise<ArrayBuffer>,
): Promise<Hit[]> {
  if (quietSearches++ === 0) {
    savedDebug = host.console.debug;
    host.console.debug = () => {};
  }
  const hits: Hit[] = [];
  try {
    for await (const [offset, index, length] of streamSearch(count, nodeSize, rect, readNode)) {
      hits.push({ offset, index, length: length ?? 0 });
    }
  } finally {
    if (--quietSearches === 0) host.console.debug = savedDebug!;
  }
  hits.sort((a, b) => a.offset - b.offset);
  return hits;
}

/** Groups hits into ranges of the data section: neighbours closer than `gap` share one read. */
export function batchRanges(
  hits: readonly Hit[],
  dataLength: number,
  gap: number,
  maxBatch: number,
): { start: number; end: number; hits: Hit[] }[] {
  const batches: { start: number; end: number; hits: Hit[] }[] = [];
  for (const hit of hits) {
    if (hit.offset < 0 || hit.offset >= dataLength) {
      throw new FlatGeobufFormatError(`Index points at feature offset ${hit.offset} outside the data`);
    }
    // The last feature (and any whose length streamSearch leaves unknown) runs to the data's end.
    const end = hit.length > 0 ? Math.min(hit.offset + hit.length, dataLength) : dataLength;
    const last = batches[batches.length - 1];
    if (last && hit.offset <= last.end + gap && end - last.start <= maxBatch) {
      last.end = Math.max(last.end, end);
      last.hits.push(hit);
    } else {
      batches.push({ start: hit.offset, end, hits: [hit] });
    }
  }
  return batches;
}

/** Index node byte length, re-exported for byte budgets in tests and planners. */
export { NODE_ITEM_BYTE_LEN };
