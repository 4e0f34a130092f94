/**
 * The FlatGeobuf header and the byte layout it implies (index and feature section offsets).
 *
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { magicbytes, SIZE_PREFIX_LEN } from "flatgeobuf/lib/mjs/constants.js";
import type { ColumnMeta } from "flatgeobuf/lib/mjs/column-meta.js";
import type { GeometryType } from "flatgeobuf/lib/mjs/flat-geobuf/geometry-type.js";
import { fromByteBuffer, type HeaderMeta } from "flatgeobuf/lib/mjs/header-meta.js";
import { calcTreeSize } from "flatgeobuf/lib/mjs/packedrtree.js";
import { FlatGeobufFormatError } from "./errors.ts";
import type { Bbox } from "../../wasm/flat_geometry.ts";

/** What a FlatGeobuf header says, in the parts the engine uses. */
export interface FgbHeader {
  geometryType: GeometryType;
  featuresCount: number;
  /** 0 when the file has no spatial index. */
  indexNodeSize: number;
  envelope: Bbox | null;
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
    ? [meta.envelope[0]!, meta.envelope[1]!, meta.envelope[2]!, meta.envelope[3]!] as Bbox
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
