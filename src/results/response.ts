/**
 * The HTTP answer for a committed result: `GET` and `HEAD /v1/jobs/{job_id}/result`, by bearer token or signed link.
 *
 * Representations. FlatGeobuf and GeoParquet are stored as they are: one representation, its strong ETag, and
 * `Range` served from R2's ranged reads. GeoJSON is stored gzip-compressed: a client that asks for gzip gets the
 * stored bytes (`Content-Encoding: gzip`, the strong ETag); any other gets identity bytes, decoded on the way
 * (the same ETag, weak: the same content, other bytes). A `Range` request always gets identity bytes, so a
 * range means the same offsets in the file a client saves, whatever it accepts; for a gzip-stored result the
 * bytes before the range are decoded and skipped (cost grows with the range's end).
 *
 * Order of checks (RFC 9110 §13.2.2): If-None-Match (304), then Range with If-Range (206, 416, or 200 when
 * If-Range does not match strongly or the request asks for several ranges).
 */
import type { OutputFormat } from "../../shared/contract/job.ts";
import { ProblemError } from "../../shared/problem.ts";
import { RESULT_FORMATS } from "../../shared/result_formats.ts";
import { quoteEtag } from "../routes/openapi.ts";
import { clientAcceptsGzip } from "./content_coding.ts";
import { selectRange } from "./range.ts";

/** A committed result, its bytes read through `read` only when a body is sent. */
export interface CommittedResult {
  jobId: string;
  format: OutputFormat;
  /** The stored object's strong ETag (quoted or not). */
  etag: string;
  /** The result's size in identity bytes. */
  bytes: number;
  /** How the object is stored, when not as is. */
  encoding?: "gzip";
  /** The stored object's size, when encoded. */
  storedBytes?: number;
  /** The stored bytes: all of them, or `length` bytes from `offset`. */
  read(range?: { offset: number; length: number }): Promise<ReadableStream<Uint8Array>>;
}

/** The answer to `request` (GET or HEAD) for `result`. */
export async function resultResponse(request: Request, result: CommittedResult): Promise<Response> {
  const head = request.method === "HEAD";
  const rangeHeader = request.headers.get("range") ?? undefined;
  const gzipStored = result.encoding === "gzip";
  // Stored gzip goes out as is only to a client that asked for gzip and not for a range.
  const sendStored = !gzipStored || (rangeHeader === undefined && clientAcceptsGzip(request));
  const etag = gzipStored && !sendStored ? `W/${quoteEtag(result.etag)}` : quoteEtag(result.etag);
  const size = gzipStored && sendStored ? result.storedBytes! : result.bytes;

  const headers = new Headers({
    "Content-Type": RESULT_FORMATS[result.format].mediaType,
    "Content-Disposition": `inline; filename="${result.jobId}.${RESULT_FORMATS[result.format].extension}"`,
    ETag: etag,
    // no-transform: the coding is this service's choice; Cloudflare's front line compresses nothing marked so.
    "Cache-Control": "private, max-age=0, must-revalidate, no-transform",
    "Accept-Ranges": "bytes",
  });
  if (gzipStored) headers.set("Vary", "Accept-Encoding");

  if (matchesNoneMatch(request.headers.get("if-none-match"), etag)) {
    return new Response(null, { status: 304, headers });
  }

  const ifRange = request.headers.get("if-range");
  // If-Range compares strongly: a weak tag never matches, nor a date (results carry no Last-Modified).
  const range = ifRange !== null && (etag.startsWith("W/") || ifRange.trim() !== etag)
    ? { kind: "full" as const }
    : selectRange(rangeHeader, size);
  if (range.kind === "unsatisfiable") {
    throw new ProblemError(416, `The result has ${size} bytes; the requested range lies outside them.`, {
      type: "range-not-satisfiable",
      headers: { "Content-Range": `bytes */${size}` },
    });
  }

  if (range.kind === "partial") {
    const length = range.end - range.start + 1;
    headers.set("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
    headers.set("Content-Length", String(length));
    // wrangler dev's stand-in for the front line ignores no-transform and would gzip a GeoJSON range for a
    // client that accepts gzip, making Content-Range wrong; an explicit identity coding keeps it as sent.
    if (gzipStored) headers.set("Content-Encoding", "identity");
    if (head) return new Response(null, { status: 206, headers });
    const body = gzipStored
      ? (await result.read()).pipeThrough(gunzip()).pipeThrough(byteSlice(range.start, length))
      : await result.read({ offset: range.start, length });
    return new Response(body, { status: 206, headers });
  }

  headers.set("Content-Length", String(size));
  if (gzipStored && sendStored) headers.set("Content-Encoding", "gzip");
  if (head) return new Response(null, { status: 200, headers });
  const stored = await result.read();
  if (gzipStored && !sendStored) {
    return new Response(stored.pipeThrough(gunzip()), { status: 200, headers });
  }
  // workerd: send encoded bytes as they are (it would otherwise encode them again).
  return new Response(stored, { status: 200, headers, encodeBody: "manual" } as ResponseInit);
}

/** If-None-Match's weak comparison (RFC 9110 §13.1.2): any listed tag with the same opaque part, or `*`. */
function matchesNoneMatch(header: string | null, etag: string): boolean {
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
}

function gunzip(): TransformStream<Uint8Array, Uint8Array> {
  return new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/** Passes `length` bytes from offset `start` of a byte stream, then stops reading it. */
function byteSlice(start: number, length: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  let sent = 0;
  return new TransformStream({
    transform(chunk, controller) {
      const from = Math.max(0, start - seen);
      seen += chunk.length;
      if (from >= chunk.length) return;
      const piece = chunk.subarray(from, from + length - sent);
      sent += piece.length;
      controller.enqueue(piece);
      if (sent === length) controller.terminate();
    },
  });
}
