/**
 * FlatFeature[] → FlatGeobuf bytes, written straight from the flat form (no GeoJSON round trip).
 *
 * Built on flatgeobuf's own pieces: the generated flatbuffer tables (`Header`, `Feature`, `Column`,
 * `Crs`), `buildGeometry` (which takes exactly our `xy`/`ends`/`parts` layout) and the packed
 * R-tree's `generateLevelBounds`/`calcTreeSize`. What flatgeobuf's TS `serialize` lacks and this
 * module adds: the packed Hilbert R-tree index (its `buildHeader` always writes
 * `index_node_size = 0`), one reused flatbuffer builder instead of one per feature, a schema
 * inferred from every feature rather than the first, and the feature id stored as a typed column.
 *
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { magicbytes } from "flatgeobuf/lib/mjs/constants.js";
import { Column } from "flatgeobuf/lib/mjs/flat-geobuf/column.js";
import { ColumnType } from "flatgeobuf/lib/mjs/flat-geobuf/column-type.js";
import { Crs } from "flatgeobuf/lib/mjs/flat-geobuf/crs.js";
import { Feature } from "flatgeobuf/lib/mjs/flat-geobuf/feature.js";
import { GeometryType } from "flatgeobuf/lib/mjs/flat-geobuf/geometry-type.js";
import { Header } from "flatgeobuf/lib/mjs/flat-geobuf/header.js";
import { buildGeometry } from "flatgeobuf/lib/mjs/generic/geometry.js";
import type { IParsedGeometry } from "flatgeobuf/lib/mjs/generic/geometry.js";
import { calcTreeSize, generateLevelBounds, NODE_ITEM_BYTE_LEN } from "flatgeobuf/lib/mjs/packedrtree.js";
import type { FlatFeature, FlatGeometry } from "../../wasm/flat_geometry.ts";
import { expandByBbox, geometryBbox, hilbert } from "./geometry_bbox.ts";
import type { Bbox } from "../../wasm/flat_geometry.ts";
import { CELLS_COLUMN, columnOfProperty, ID_COLUMN } from "./stored_columns.ts";

export { ID_COLUMN };

/** A feature as stored in a tile: with `cells`, the sorted H3 cells it touches when it spans more than one. */
export interface StoredFeature extends FlatFeature {
  cells?: string;
}
/** Node size of the packed Hilbert R-tree (FlatGeobuf's default). */
const DEFAULT_NODE_SIZE = 16;

export interface WriteOptions {
  /**
   * Write the packed Hilbert R-tree with this node size (default 16). `0` writes no index and
   * keeps the features in the given order (what ordered job results need).
   */
  nodeSize?: number;
  /** Layer name in the header (default `"features"`). */
  name?: string;
  /** EPSG code recorded in the header (default 4326). `0` records no CRS. */
  epsg?: number;
  /** Free-form header metadata (FlatGeobuf `metadata`), e.g. a JSON string. */
  metadata?: string;
}

/** A column of the written schema. */
export interface WrittenColumn {
  name: string;
  type: ColumnType;
  /** The user property it holds, when that is not `name` (see stored_columns.ts). */
  property?: string;
}

/**
 * Encodes features as a FlatGeobuf file with a packed Hilbert R-tree (node size 16 by default).
 * The file's features are in Hilbert order; each id is stored in the `id` column with its JSON
 * type (integers as `Long`, other numbers as `Double`, strings as `String`, a mix as `Json`), a
 * feature's `cells` in the internal `_cells` column, and user properties under the names of
 * stored_columns.ts (so a `properties.id` or `_cells` stays the user's own attribute).
 * Property values `null`/`undefined` are not stored (they read back as absent keys, like GDAL).
 *
 * @throws {RangeError} on an empty or malformed geometry.
 * @example
 * ```ts
 * const bytes = writeFlatGeobuf([{ id: 1, geometry: { kind: "Point", xy: new Float64Array([2, 48]) } }]);
 * ```
 */
export function writeFlatGeobuf(features: readonly StoredFeature[], options: WriteOptions = {}): Uint8Array {
  const nodeSize = options.nodeSize ?? DEFAULT_NODE_SIZE;
  if (nodeSize !== 0 && !(Number.isInteger(nodeSize) && nodeSize >= 2 && nodeSize <= 65535)) {
    throw new RangeError(`Node size ${nodeSize} is invalid; use 0 (no index) or an integer in 2..65535`);
  }
  const count = features.length;
  const boxes = new Float64Array(count * 4);
  const extent: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < count; i++) {
    const feature = features[i]!;
    const box = geometryBbox(feature.geometry);
    if (!box) throw new RangeError(`Feature ${JSON.stringify(feature.id)} has an empty geometry; drop it first`);
    boxes.set(box, i * 4);
    expandByBbox(extent, box);
  }
  const indexed = nodeSize > 0 && count > 0;
  const order = indexed ? hilbertOrder(boxes, extent) : identityOrder(count);

  const columns = inferColumns(features);
  const encoder = new FeatureEncoder(columns, count * 96);
  const offsets = new Float64Array(count); // byte offset of each written feature in the data section
  for (let i = 0; i < count; i++) {
    offsets[i] = encoder.length;
    encoder.add(features[order[i]!]!);
  }
  const data = encoder.finish();

  const header = buildHeader({
    columns,
    count,
    geometryType: commonGeometryType(features),
    envelope: count > 0 ? extent : null,
    nodeSize: indexed ? nodeSize : 0,
    name: options.name ?? "features",
    epsg: options.epsg ?? 4326,
    metadata: options.metadata,
  });
  const index = indexed ? buildIndex(boxes, order, offsets, nodeSize) : new Uint8Array(0);

  const out = new Uint8Array(magicbytes.length + header.length + index.length + data.length);
  out.set(magicbytes, 0);
  out.set(header, magicbytes.length);
  out.set(index, magicbytes.length + header.length);
  out.set(data, magicbytes.length + header.length + index.length);
  return out;
}

/**
 * A result FlatGeobuf (no index, features in the order given) written piece
 * by piece, for results too large to hold: the header first (the feature
 * count, schema and geometry type must be known up front), then features in
 * batches taken with {@link take}.
 */
export class ResultFlatGeobufWriter {
  readonly #encoder: FeatureEncoder;

  constructor(
    readonly head: {
      columns: WrittenColumn[];
      count: number;
      geometryType: GeometryType;
      name?: string;
      /** The EPSG code of the geometries (default 4326). */
      epsg?: number;
    },
  ) {
    this.#encoder = new FeatureEncoder(head.columns, 1 << 20);
  }

  /** Magic bytes and header. */
  header(): Uint8Array {
    const header = buildHeader({
      columns: this.head.columns,
      count: this.head.count,
      geometryType: this.head.geometryType,
      envelope: null,
      nodeSize: 0,
      name: this.head.name ?? "result",
      epsg: this.head.epsg ?? 4326,
      metadata: undefined,
    });
    const out = new Uint8Array(magicbytes.length + header.length);
    out.set(magicbytes, 0);
    out.set(header, magicbytes.length);
    return out;
  }

  add(feature: StoredFeature): void {
    this.#encoder.add(feature);
  }

  /** Bytes encoded so far. */
  get pending(): number {
    return this.#encoder.length;
  }

  /** The features encoded since the last call (a copy; the writer reuses its buffer). */
  take(): Uint8Array {
    return this.#encoder.drain();
  }
}

/** Bit of a value's column class, for schemas gathered piecewise (OR the bits of every value). */
export function valueClassBit(value: unknown): number {
  return 1 << VALUE_CLASSES.indexOf(classify(value));
}

/** The column type for the OR of {@link valueClassBit} over a column's values. */
export function columnTypeOfBits(bits: number): ColumnType {
  return columnTypeOf(new Set(VALUE_CLASSES.filter((_, i) => bits & (1 << i))));
}

/** The header geometry type of features of these kinds (Unknown when mixed). */
export function geometryTypeOfKinds(kinds: Iterable<FlatGeometry["kind"]>): GeometryType {
  const types = new Set([...kinds].map((kind) => KIND_TYPES[kind]));
  return types.size === 1 ? [...types][0]! : GeometryType.Unknown;
}

function identityOrder(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}

/** Feature indices sorted by the Hilbert key of their bbox centres over `extent`. */
function hilbertOrder(boxes: Float64Array, extent: Bbox): Uint32Array {
  const count = boxes.length / 4;
  const width = extent[2] - extent[0] || 1;
  const height = extent[3] - extent[1] || 1;
  const scaleX = 65535 / width;
  const scaleY = 65535 / height;
  const key = (i: number) => {
    const x = Math.floor(scaleX * ((boxes[i * 4]! + boxes[i * 4 + 2]!) / 2 - extent[0]));
    const y = Math.floor(scaleY * ((boxes[i * 4 + 1]! + boxes[i * 4 + 3]!) / 2 - extent[1]));
    return hilbert(x, y);
  };
  const order = new Uint32Array(count);
  if (count <= 2 ** 21) {
    // Key (32 bits) and index (21 bits) packed into one exact double: a native numeric sort.
    const packed = new Float64Array(count);
    for (let i = 0; i < count; i++) packed[i] = key(i) * 2 ** 21 + i;
    packed.sort();
    for (let i = 0; i < count; i++) order[i] = packed[i]! % 2 ** 21;
    return order;
  }
  const keys = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    keys[i] = key(i);
    order[i] = i;
  }
  order.sort((a, b) => keys[a]! - keys[b]! || a - b);
  return order;
}

/** The packed R-tree in FlatGeobuf's layout: root first, leaves last, 40-byte nodes. */
function buildIndex(boxes: Float64Array, order: Uint32Array, offsets: Float64Array, nodeSize: number): Uint8Array {
  const count = order.length;
  const bytes = new Uint8Array(calcTreeSize(count, nodeSize));
  const view = new DataView(bytes.buffer);
  const levelBounds = generateLevelBounds(count, nodeSize);
  const nodes = new Float64Array((bytes.length / NODE_ITEM_BYTE_LEN) * 4);
  const leafStart = levelBounds[0]![0];
  for (let i = 0; i < count; i++) {
    const src = order[i]! * 4;
    const node = leafStart + i;
    nodes.set(boxes.subarray(src, src + 4), node * 4);
    writeNode(view, node, nodes, offsets[i]!);
  }
  for (let level = 0; level < levelBounds.length - 1; level++) {
    let [pos, end] = levelBounds[level]!;
    let parent = levelBounds[level + 1]![0];
    while (pos < end) {
      const first = pos;
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (let j = 0; j < nodeSize && pos < end; j++, pos++) {
        const n = pos * 4;
        if (nodes[n]! < minX) minX = nodes[n]!;
        if (nodes[n + 1]! < minY) minY = nodes[n + 1]!;
        if (nodes[n + 2]! > maxX) maxX = nodes[n + 2]!;
        if (nodes[n + 3]! > maxY) maxY = nodes[n + 3]!;
      }
      const p = parent * 4;
      nodes[p] = minX;
      nodes[p + 1] = minY;
      nodes[p + 2] = maxX;
      nodes[p + 3] = maxY;
      writeNode(view, parent, nodes, first);
      parent++;
    }
  }
  return bytes;
}

function writeNode(view: DataView, node: number, nodes: Float64Array, offset: number): void {
  const at = node * NODE_ITEM_BYTE_LEN;
  view.setFloat64(at, nodes[node * 4]!, true);
  view.setFloat64(at + 8, nodes[node * 4 + 1]!, true);
  view.setFloat64(at + 16, nodes[node * 4 + 2]!, true);
  view.setFloat64(at + 24, nodes[node * 4 + 3]!, true);
  view.setBigUint64(at + 32, BigInt(offset), true);
}

const KIND_TYPES: Record<FlatGeometry["kind"], GeometryType> = {
  Point: GeometryType.Point,
  MultiPoint: GeometryType.MultiPoint,
  LineString: GeometryType.LineString,
  MultiLineString: GeometryType.MultiLineString,
  Polygon: GeometryType.Polygon,
  MultiPolygon: GeometryType.MultiPolygon,
};

function commonGeometryType(features: readonly FlatFeature[]): GeometryType {
  return geometryTypeOfKinds(features.map((f) => f.geometry.kind));
}

const VALUE_CLASSES = ["bool", "int", "double", "string", "binary", "json"] as const;
type ValueClass = typeof VALUE_CLASSES[number];

function classify(value: unknown): ValueClass {
  switch (typeof value) {
    case "boolean":
      return "bool";
    case "number":
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? "int" : "double";
    case "string":
      return "string";
    default:
      return value instanceof Uint8Array ? "binary" : "json";
  }
}

function columnTypeOf(classes: Set<ValueClass>): ColumnType {
  if (classes.size === 1) {
    const [only] = classes;
    if (only === "bool") return ColumnType.Bool;
    if (only === "int") return ColumnType.Long;
    if (only === "double") return ColumnType.Double;
    if (only === "string") return ColumnType.String;
    if (only === "binary") return ColumnType.Binary;
    return ColumnType.Json;
  }
  if (classes.size === 2 && classes.has("int") && classes.has("double")) return ColumnType.Double;
  return classes.size === 0 ? ColumnType.String : ColumnType.Json;
}

/**
 * The schema: `id` first, `_cells` when a feature has cells, then every property key in first-seen
 * order (under its stored name), typed over all features.
 */
function inferColumns(features: readonly StoredFeature[]): WrittenColumn[] {
  const ids = new Set<ValueClass>();
  const classes = new Map<string, Set<ValueClass>>();
  let cells = false;
  for (const feature of features) {
    ids.add(classify(feature.id));
    if (feature.cells !== undefined) cells = true;
    const properties = feature.properties;
    if (!properties) continue;
    for (const name in properties) {
      const value = properties[name];
      let set = classes.get(name);
      if (!set) classes.set(name, set = new Set());
      if (value !== null && value !== undefined) set.add(classify(value));
    }
  }
  return [
    { name: ID_COLUMN, type: columnTypeOf(ids) },
    ...(cells ? [{ name: CELLS_COLUMN, type: ColumnType.String }] : []),
    ...[...classes].map(([property, set]) => {
      const name = columnOfProperty(property);
      return name === property ? { name, type: columnTypeOf(set) } : { name, type: columnTypeOf(set), property };
    }),
  ];
}

const textEncoder = new TextEncoder();

/** UTF-8 of `text` into `out` at `at` (room for 3 bytes per code unit assumed); ASCII without a native call. */
function writeUtf8(text: string, out: Uint8Array, at: number): number {
  const n = text.length;
  if (n > 64) return textEncoder.encodeInto(text, out.subarray(at)).written;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return textEncoder.encodeInto(text, out.subarray(at)).written;
    out[at + i] = c;
  }
  return n;
}

/** `properties[key]` when it is the object's own (a property named `constructor` is not Object's). */
function ownValue(properties: Record<string, unknown> | undefined, key: string): unknown {
  return properties && Object.hasOwn(properties, key) ? properties[key] : undefined;
}

/** Encodes features one after the other into one growing buffer, reusing one flatbuffer builder. */
class FeatureEncoder {
  #builder = new flatbuffers.Builder(1024);
  #out: Uint8Array;
  #length = 0;
  #props = new Uint8Array(256);
  #propsView = new DataView(this.#props.buffer);

  constructor(readonly columns: WrittenColumn[], expectedBytes: number) {
    this.#out = new Uint8Array(Math.max(1 << 16, expectedBytes));
  }

  get length(): number {
    return this.#length;
  }

  add(feature: StoredFeature): void {
    const builder = this.#builder;
    builder.clear();
    const propsLength = this.#encodeProperties(feature);
    const propsOffset = propsLength > 0
      ? Feature.createPropertiesVector(builder, this.#props.subarray(0, propsLength))
      : 0;
    // A result row without geometry (shortest_path with path_geometry: false) is an empty geometry of its kind:
    // GDAL reads it as EMPTY, and the flatgeobuf library (which fails on a feature with no geometry) as [].
    const empty = feature.geometry.xy.length === 0 && !feature.geometry.parts;
    const parsed = empty
      ? { type: KIND_TYPES[feature.geometry.kind], xy: [] } as unknown as IParsedGeometry
      : toParsed(feature.geometry, feature.id);
    const geometryOffset = buildGeometry(builder, parsed);
    Feature.startFeature(builder);
    Feature.addGeometry(builder, geometryOffset);
    if (propsOffset) Feature.addProperties(builder, propsOffset);
    builder.finishSizePrefixed(Feature.endFeature(builder));
    const bytes = builder.asUint8Array();
    this.#reserve(bytes.length);
    this.#out.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  finish(): Uint8Array {
    return this.#out.subarray(0, this.#length);
  }

  /** The bytes so far (copied), and start over. */
  drain(): Uint8Array {
    const bytes = this.#out.slice(0, this.#length);
    this.#length = 0;
    return bytes;
  }

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#out.length) return;
    const next = new Uint8Array(Math.max(this.#out.length * 2, this.#length + extra));
    next.set(this.#out.subarray(0, this.#length));
    this.#out = next;
  }

  #ensureProps(at: number, extra: number): void {
    if (at + extra <= this.#props.length) return;
    const next = new Uint8Array(Math.max(this.#props.length * 2, at + extra));
    next.set(this.#props);
    this.#props = next;
    this.#propsView = new DataView(next.buffer);
  }

  /** FlatGeobuf property encoding: per present value, a u16 column index and the value. */
  #encodeProperties(feature: StoredFeature): number {
    let at = 0;
    const columns = this.columns;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      const value = i === 0
        ? feature.id
        : column.name === CELLS_COLUMN
        ? feature.cells
        : ownValue(feature.properties, column.property ?? column.name);
      if (value === null || value === undefined) continue;
      this.#ensureProps(at, 2 + 8);
      this.#propsView.setUint16(at, i, true);
      at += 2;
      switch (column.type) {
        case ColumnType.Bool:
          this.#propsView.setUint8(at, value ? 1 : 0);
          at += 1;
          break;
        case ColumnType.Long:
          this.#propsView.setBigInt64(at, BigInt(value as number), true);
          at += 8;
          break;
        case ColumnType.Double:
          this.#propsView.setFloat64(at, value as number, true);
          at += 8;
          break;
        case ColumnType.Binary: {
          const bytes = value as Uint8Array;
          this.#ensureProps(at, 4 + bytes.length);
          this.#propsView.setUint32(at, bytes.length, true);
          this.#props.set(bytes, at + 4);
          at += 4 + bytes.length;
          break;
        }
        default: {
          const text = column.type === ColumnType.String ? value as string : JSON.stringify(value);
          this.#ensureProps(at, 4 + text.length * 3);
          const written = writeUtf8(text, this.#props, at + 4);
          this.#propsView.setUint32(at, written, true);
          at += 4 + written;
        }
      }
    }
    return at;
  }
}

/** Our flat geometry as flatgeobuf's parsed-geometry input, checked for shape. */
function toParsed(geometry: FlatGeometry, id: FlatFeature["id"]): IParsedGeometry {
  const type = KIND_TYPES[geometry.kind];
  if (type === undefined) throw new RangeError(`Feature ${JSON.stringify(id)} has unknown kind "${geometry.kind}"`);
  if (geometry.kind === "MultiPolygon" && geometry.parts) {
    return {
      type,
      parts: geometry.parts.map((part) => toParsed({ ...part, kind: "Polygon" }, id)),
    } as unknown as IParsedGeometry;
  }
  const xy = geometry.xy;
  if (xy.length === 0 || xy.length % 2 !== 0) {
    throw new RangeError(`Feature ${JSON.stringify(id)} has ${xy.length} coordinates; expected a non-zero even count`);
  }
  const ends = geometry.ends;
  if (ends && ends.length > 0) {
    let previous = 0;
    for (const end of ends) {
      if (end <= previous) throw new RangeError(`Feature ${JSON.stringify(id)} has non-increasing ring/line ends`);
      previous = end;
    }
    if (previous !== xy.length / 2) {
      throw new RangeError(
        `Feature ${JSON.stringify(id)}: the last end ${previous} is not the point count ${xy.length / 2}`,
      );
    }
  }
  return { type, xy, ends: ends && ends.length > 1 ? ends : undefined } as unknown as IParsedGeometry;
}

interface HeaderInput {
  columns: WrittenColumn[];
  count: number;
  geometryType: GeometryType;
  envelope: Bbox | null;
  nodeSize: number;
  name: string;
  epsg: number;
  metadata: string | undefined;
}

function buildHeader(input: HeaderInput): Uint8Array {
  const builder = new flatbuffers.Builder(1024);
  const columnOffsets = input.columns.map((column) => {
    const name = builder.createString(column.name);
    Column.startColumn(builder);
    Column.addName(builder, name);
    Column.addType(builder, column.type);
    Column.addNullable(builder, column.name !== ID_COLUMN);
    return Column.endColumn(builder);
  });
  const columnsOffset = Header.createColumnsVector(builder, columnOffsets);
  const nameOffset = builder.createString(input.name);
  const metadataOffset = input.metadata !== undefined ? builder.createString(input.metadata) : 0;
  const envelopeOffset = input.envelope ? Header.createEnvelopeVector(builder, input.envelope) : 0;
  let crsOffset = 0;
  if (input.epsg) {
    const org = builder.createString("EPSG");
    Crs.startCrs(builder);
    Crs.addOrg(builder, org);
    Crs.addCode(builder, input.epsg);
    crsOffset = Crs.endCrs(builder);
  }
  Header.startHeader(builder);
  Header.addName(builder, nameOffset);
  if (envelopeOffset) Header.addEnvelope(builder, envelopeOffset);
  Header.addGeometryType(builder, input.geometryType);
  Header.addColumns(builder, columnsOffset);
  Header.addFeaturesCount(builder, BigInt(input.count));
  Header.addIndexNodeSize(builder, input.nodeSize);
  if (crsOffset) Header.addCrs(builder, crsOffset);
  if (metadataOffset) Header.addMetadata(builder, metadataOffset);
  builder.finishSizePrefixed(Header.endHeader(builder));
  return builder.asUint8Array();
}
