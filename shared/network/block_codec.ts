/**
 * The R2 form of a network block: two objects, so a search that needs no path geometry never reads lines.
 *
 * - graph: a 16-byte header (`SJNG`, format version, vertex count n, directed edge count m), then
 *   vertex ids (u32 × n), lon/lat (f64 × 2n), CSR offsets (u32 × (n + 1)), heads (u32 × m), costs (f64 × m);
 * - lines: a 16-byte header (`SJNL`, format version, m, point count p), then line offsets (u32 × (m + 1)) and
 *   lon/lat (f64 × 2p).
 *
 * Sections start on 8-byte boundaries, so decoding is typed-array views over the object's bytes (no copy).
 */
import type { NetworkBlock } from "./topology.ts";

const GRAPH_MAGIC = 0x474e4a53; // "SJNG" little-endian
const LINES_MAGIC = 0x4c4e4a53; // "SJNL"
const FORMAT_VERSION = 1;
const HEADER_BYTES = 16;

/** A block's graph as a search reads it. */
export interface BlockGraph {
  vertexIds: Uint32Array;
  lonlat: Float64Array;
  offsets: Uint32Array;
  targets: Uint32Array;
  costs: Float64Array;
}

/** A block's directed-edge lines, in travel direction. */
export interface BlockLines {
  geomOffsets: Uint32Array;
  geomXY: Float64Array;
}

export class NetworkBlockFormatError extends TypeError {}

const align8 = (n: number) => (n + 7) & ~7;

function layout(sizes: number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let at = HEADER_BYTES;
  for (const size of sizes) {
    offsets.push(at);
    at = align8(at + size);
  }
  return { offsets, total: at };
}

function write(magic: number, counts: [number, number], sections: ArrayBufferView[]): Uint8Array {
  const { offsets, total } = layout(sections.map((s) => s.byteLength));
  const bytes = new Uint8Array(total);
  const header = new DataView(bytes.buffer);
  header.setUint32(0, magic, true);
  header.setUint32(4, FORMAT_VERSION, true);
  header.setUint32(8, counts[0], true);
  header.setUint32(12, counts[1], true);
  sections.forEach((s, i) => bytes.set(new Uint8Array(s.buffer, s.byteOffset, s.byteLength), offsets[i]!));
  return bytes;
}

function read(bytes: Uint8Array, magic: number, what: string): { counts: [number, number]; buffer: ArrayBuffer } {
  // Typed views need an 8-byte-aligned start: copy the rare unaligned input once.
  const own = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const header = new DataView(own.buffer, own.byteOffset, Math.min(own.byteLength, HEADER_BYTES));
  if (own.byteLength < HEADER_BYTES || header.getUint32(0, true) !== magic) {
    throw new NetworkBlockFormatError(`Not a network ${what} block.`);
  }
  if (header.getUint32(4, true) !== FORMAT_VERSION) {
    throw new NetworkBlockFormatError(`Network ${what} block format ${header.getUint32(4, true)} is not supported.`);
  }
  const buffer = own.byteOffset === 0 && own.byteLength === own.buffer.byteLength
    ? own.buffer as ArrayBuffer
    : own.slice().buffer;
  return { counts: [header.getUint32(8, true), header.getUint32(12, true)], buffer };
}

export function encodeBlockGraph(block: NetworkBlock): Uint8Array {
  return write(GRAPH_MAGIC, [block.vertexIds.length, block.targets.length], [
    block.vertexIds,
    block.lonlat,
    block.offsets,
    block.targets,
    block.costs,
  ]);
}

export function decodeBlockGraph(bytes: Uint8Array): BlockGraph {
  const { counts: [n, m], buffer } = read(bytes, GRAPH_MAGIC, "graph");
  const { offsets, total } = layout([4 * n, 16 * n, 4 * (n + 1), 4 * m, 8 * m]);
  if (total !== buffer.byteLength) throw new NetworkBlockFormatError("The network graph block is truncated.");
  return {
    vertexIds: new Uint32Array(buffer, offsets[0]!, n),
    lonlat: new Float64Array(buffer, offsets[1]!, 2 * n),
    offsets: new Uint32Array(buffer, offsets[2]!, n + 1),
    targets: new Uint32Array(buffer, offsets[3]!, m),
    costs: new Float64Array(buffer, offsets[4]!, m),
  };
}

export function encodeBlockLines(block: NetworkBlock): Uint8Array {
  return write(LINES_MAGIC, [block.targets.length, block.geomXY.length / 2], [block.geomOffsets, block.geomXY]);
}

export function decodeBlockLines(bytes: Uint8Array): BlockLines {
  const { counts: [m, p], buffer } = read(bytes, LINES_MAGIC, "lines");
  const { offsets, total } = layout([4 * (m + 1), 16 * p]);
  if (total !== buffer.byteLength) throw new NetworkBlockFormatError("The network lines block is truncated.");
  return {
    geomOffsets: new Uint32Array(buffer, offsets[0]!, m + 1),
    geomXY: new Float64Array(buffer, offsets[1]!, 2 * p),
  };
}
