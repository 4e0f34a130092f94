/**
 * `PUT /v1/datasets/{name}` from a client: the body is streamed in chunks so
 * the caller can show upload progress (bytes handed to the socket). Datasets
 * over one request's limits go through the multipart extension
 * ({@link publishMultipart}, with {@link splitGeoJson} / {@link splitFlatGeobuf}).
 */
import { isDevProxyRestart } from "../lib/wrangler_dev.ts";
import { MAX_DATASET_BODY_BYTES, MAX_DATASET_FEATURES } from "../../shared/contract/limits.ts";
import { parseFlatGeobuf } from "../../shared/tiles/fgb_features.ts";
import { writeFlatGeobuf } from "../../shared/tiles/fgb_writer.ts";

export type DatasetMediaType = "application/geo+json" | "application/flatgeobuf" | "application/zip" | "text/csv";

export interface PublishOptions {
  /** Service base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  name: string;
  body: Uint8Array;
  contentType: DatasetMediaType;
  token: string;
  repair?: boolean;
  crs?: string;
  classification?: string;
  /** `network`: publish LineString edges as a network (`?kind=network`). */
  kind?: string;
  /** Called with the bytes sent so far. */
  onProgress?: (sent: number, total: number) => void;
  chunkBytes?: number;
}

export interface PublishOutcome {
  ok: boolean;
  status: number;
  /** The parsed JSON body (a manifest on 201, a problem otherwise), or the raw text if not JSON. */
  body: unknown;
  /** Milliseconds from the first byte sent to the last byte of the response read. */
  ms: number;
  traceId: string | null;
}

/** The media type for a file name: `.fgb` → FlatGeobuf, `.geojson`/`.json` → GeoJSON; else `null`. */
export function mediaTypeForFile(path: string): DatasetMediaType | null {
  const lower = path.toLowerCase();
  if (lower.endsWith(".fgb")) return "application/flatgeobuf";
  if (lower.endsWith(".geojson") || lower.endsWith(".json")) return "application/geo+json";
  if (lower.endsWith(".zip") || lower.endsWith(".shz")) return "application/zip";
  if (lower.endsWith(".csv")) return "text/csv";
  return null;
}

export function datasetUrl(
  options: Pick<PublishOptions, "url" | "name" | "repair" | "crs" | "classification" | "kind">,
): string {
  const query = new URLSearchParams();
  if (options.classification) query.set("classification", options.classification);
  if (options.repair) query.set("repair", "true");
  if (options.crs) query.set("crs", options.crs);
  if (options.kind) query.set("kind", options.kind);
  const qs = query.toString();
  return `${options.url.replace(/\/+$/, "")}/v1/datasets/${encodeURIComponent(options.name)}${qs ? `?${qs}` : ""}`;
}

/** Publishes `body` and reads the answer; never throws for an HTTP error status. */
export async function publishDataset(options: PublishOptions): Promise<PublishOutcome> {
  return await send(datasetUrl(options), "PUT", options.token, {
    body: options.body,
    contentType: options.contentType,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}),
  });
}

interface UploadBody {
  body: Uint8Array;
  contentType: string;
  onProgress?: (sent: number, total: number) => void;
  chunkBytes?: number;
}

/** One request; the body (if any) is streamed in chunks with progress. Never throws for an HTTP error status. */
async function send(
  url: string,
  method: string,
  token: string,
  upload?: UploadBody,
): Promise<PublishOutcome> {
  const started = performance.now();
  const response = await fetchRetryingTransportFailures(() => request(url, method, token, upload));
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    // A server that refuses a body early (413 on Content-Length) may close the connection mid-upload.
    text = `(the connection closed before the answer's body was read: ${
      error instanceof Error ? error.message : error
    })`;
  }
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return {
    ok: response.ok,
    status: response.status,
    body: parsed,
    ms: performance.now() - started,
    traceId: response.headers.get("x-request-trace-id"),
  };
}

/**
 * The local dev server's proxy drops connections now and then (workers-sdk#14641): a request on a pooled
 * connection it just closed fails ("connection closed before message completed", "Connection reset by peer"),
 * a body upload may hit "Broken pipe", a GET may be parked and never answered, or the proxy answers 503
 * "worker restarted mid-request". Idempotent requests (GET, PUT) are resent on any such failure, a POST only
 * when it cannot have reached the Worker; the body stream is rebuilt each time. Other errors are thrown.
 */
async function fetchRetryingTransportFailures(attempt: () => [string, RequestInit]): Promise<Response> {
  for (let tries = 1;; tries++) {
    const [url, init] = attempt();
    try {
      const response = await fetch(url, init);
      if (!(await isDevProxyRestart(response)) || tries >= 3) return response;
    } catch (error) {
      const idempotent = init.method === "GET" || init.method === "PUT";
      const transport = error instanceof TypeError ||
        (error instanceof DOMException && error.name === "TimeoutError");
      const unsent = error instanceof TypeError &&
        /connection closed before message completed|Connection reset by peer/.test(String(error.cause ?? error));
      if (!(idempotent ? transport : unsent) || tries >= 3) throw error;
    }
  }
}

function request(
  url: string,
  method: string,
  token: string,
  upload?: UploadBody,
): [string, RequestInit] {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (!upload) return [url, { method, headers, ...(method === "GET" ? { signal: AbortSignal.timeout(5_000) } : {}) }];
  const { body, onProgress } = upload;
  const chunk = upload.chunkBytes ?? 256 * 1024;
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= body.byteLength) {
        controller.close();
        return;
      }
      const end = Math.min(offset + chunk, body.byteLength);
      controller.enqueue(body.subarray(offset, end));
      offset = end;
      onProgress?.(offset, body.byteLength);
    },
  });
  headers["content-type"] = upload.contentType;
  headers["content-length"] = String(body.byteLength);
  return [url, { method, headers, body: stream }];
}

// ------------------------------------------------------------ multipart uploads

/** One part request's body limits (the service's: 64 MiB and 250,000 features; a margin is kept). */
export const PART_MAX_BYTES = 48 * 2 ** 20;
export const PART_MAX_FEATURES = 200_000;

export interface MultipartOptions extends Omit<PublishOptions, "body" | "contentType"> {
  /** The parts' bodies, in order (part n = parts[n - 1]). */
  parts: { body: Uint8Array; contentType: DatasetMediaType }[];
  /** Called after each step (`opened`, `part 3/9`, `completing`, `completed`). */
  onStep?: (step: string) => void;
  /** Give up polling the completion after this long (default 10 min). */
  completeTimeoutMs?: number;
}

/**
 * Publishes through the multipart extension: open, PUT every part (progress across all of them),
 * complete, poll until COMPLETED. The outcome's body is the manifest (or the first problem).
 */
export async function publishMultipart(options: MultipartOptions): Promise<PublishOutcome> {
  const started = performance.now();
  const done = (outcome: PublishOutcome): PublishOutcome => ({ ...outcome, ms: performance.now() - started });
  const base = datasetUrl(options).replace(/\?.*$/, "");
  const query = datasetUrl(options).slice(base.length);
  const opened = await send(`${base}/uploads${query}`, "POST", options.token);
  if (!opened.ok) return done(opened);
  const uploadId = (opened.body as { upload_id: string }).upload_id;
  const uploadUrl = `${base}/uploads/${uploadId}`;
  options.onStep?.(`opened ${uploadId}`);
  const total = options.parts.reduce((n, p) => n + p.body.byteLength, 0);
  let before = 0;
  for (const [i, part] of options.parts.entries()) {
    const sent = await send(`${uploadUrl}/parts/${i + 1}`, "PUT", options.token, {
      body: part.body,
      contentType: part.contentType,
      onProgress: (n) => options.onProgress?.(before + n, total),
      ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}),
    });
    if (!sent.ok) return done(sent);
    before += part.body.byteLength;
    options.onStep?.(`part ${i + 1}/${options.parts.length} stored (${(sent.ms / 1000).toFixed(1)} s)`);
  }
  const completed = await send(`${uploadUrl}/complete`, "POST", options.token);
  if (!completed.ok) return done(completed);
  options.onStep?.("completing");
  const deadline = performance.now() + (options.completeTimeoutMs ?? 600_000);
  let status = completed.body as { state: string; manifest?: unknown; error?: string };
  while (status.state === "COMPLETING" && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    // Completing a large dataset keeps the local isolate busy for seconds at a time: a poll that times out
    // (three tries of 5 s) is not a failure, the deadline decides.
    const polled = await send(uploadUrl, "GET", options.token).catch((error) => {
      if (error instanceof DOMException && error.name === "TimeoutError") return null;
      throw error;
    });
    if (!polled) continue;
    if (!polled.ok) return done(polled);
    status = polled.body as typeof status;
  }
  if (status.state !== "COMPLETED") {
    return done({ ...completed, ok: false, body: { title: `Upload ${status.state}`, detail: status.error ?? "" } });
  }
  options.onStep?.("completed");
  return done({ ...completed, status: 201, body: status.manifest });
}

/**
 * Splits a GeoJSON FeatureCollection's bytes into FeatureCollections of at most `maxFeatures`
 * features and about `maxBytes` bytes each (or `count` equal parts), without parsing it: one pass
 * finds the byte range of every element of the top-level `features` array. Other top-level
 * members (`bbox`, `crs`) are not carried over.
 */
export function splitGeoJson(
  bytes: Uint8Array,
  limits: { count?: number; maxBytes?: number; maxFeatures?: number } = {},
): Uint8Array[] {
  const ranges = featureRanges(bytes);
  const maxBytes = limits.maxBytes ?? PART_MAX_BYTES;
  const maxFeatures = limits.maxFeatures ?? PART_MAX_FEATURES;
  const groups: [number, number][] = []; // [first feature, end feature)
  if (limits.count) {
    const per = Math.ceil(ranges.length / limits.count);
    for (let i = 0; i < ranges.length; i += per) groups.push([i, Math.min(i + per, ranges.length)]);
  } else {
    let first = 0;
    for (let i = 0; i < ranges.length; i++) {
      const size = ranges[i]![1] - ranges[first]![0];
      if (i > first && (i - first >= maxFeatures || size > maxBytes)) {
        groups.push([first, i]);
        first = i;
      }
    }
    if (ranges.length) groups.push([first, ranges.length]);
  }
  const head = new TextEncoder().encode('{"type":"FeatureCollection","features":[');
  const tail = new TextEncoder().encode("]}");
  return groups.map(([a, b]) => {
    const start = ranges[a]![0], end = ranges[b - 1]![1];
    const out = new Uint8Array(head.length + (end - start) + tail.length);
    out.set(head, 0);
    out.set(bytes.subarray(start, end), head.length);
    out.set(tail, head.length + end - start);
    return out;
  });
}

/** Byte ranges `[start, end)` of the elements of the top-level `features` array (commas between them excluded). */
function featureRanges(bytes: Uint8Array): [number, number][] {
  const ranges: [number, number][] = [];
  let depth = 0, inString = false, keyStart = -1, lastKey = "", inFeatures = false, elementStart = -1;
  const decoder = new TextDecoder();
  for (let i = 0; i < bytes.length; i++) {
    const ch = bytes[i]!;
    if (inString) {
      if (ch === 92) i++;
      else if (ch === 34) {
        inString = false;
        if (depth === 1) lastKey = decoder.decode(bytes.subarray(keyStart, i));
      }
      continue;
    }
    if (ch === 34) {
      inString = true;
      keyStart = i + 1;
      if (inFeatures && depth === 2 && elementStart < 0) elementStart = i;
    } else if (ch === 123 || ch === 91) {
      if (inFeatures && depth === 2 && elementStart < 0) elementStart = i;
      depth++;
      if (depth === 2 && ch === 91 && lastKey === "features") inFeatures = true;
    } else if (ch === 125 || ch === 93) {
      if (inFeatures && depth === 2 && ch === 93) {
        if (elementStart >= 0) ranges.push([elementStart, trimEnd(bytes, i)]);
        inFeatures = false;
        elementStart = -1;
      }
      depth--;
    } else if (ch === 44 && inFeatures && depth === 2) {
      if (elementStart >= 0) ranges.push([elementStart, trimEnd(bytes, i)]);
      elementStart = -1;
    } else if (inFeatures && depth === 2 && elementStart < 0 && ch > 32) {
      elementStart = i; // a bare literal (null, a number): kept so the service reports it
    }
  }
  return ranges;
}

function trimEnd(bytes: Uint8Array, end: number): number {
  while (end > 0 && (bytes[end - 1] === 32 || bytes[end - 1] === 10 || bytes[end - 1] === 13 || bytes[end - 1] === 9)) {
    end--;
  }
  return end;
}

/**
 * Splits a FlatGeobuf file into `count` files of consecutive feature ranges (default: as many as
 * {@link PART_MAX_BYTES} and {@link PART_MAX_FEATURES} need), each with the source's CRS and columns.
 */
export function splitFlatGeobuf(bytes: Uint8Array, count?: number): Uint8Array[] {
  const { header, features } = parseFlatGeobuf(bytes, { missingId: "throw" });
  const n = count ??
    Math.max(1, Math.ceil(features.length / PART_MAX_FEATURES), Math.ceil(bytes.length / PART_MAX_BYTES));
  const per = Math.ceil(features.length / n);
  const out: Uint8Array[] = [];
  for (let i = 0; i < features.length; i += per) {
    out.push(writeFlatGeobuf(features.slice(i, i + per), { nodeSize: 0, epsg: header.epsg ?? 0 }));
  }
  return out;
}

/** Whether one PUT can carry the file: under the byte limit and, for GeoJSON, the feature limit. */
export function fitsOneRequest(bytes: Uint8Array, contentType: DatasetMediaType): boolean {
  if (bytes.byteLength > MAX_DATASET_BODY_BYTES) return false;
  if (contentType !== "application/geo+json") return true;
  return featureRanges(bytes).length <= MAX_DATASET_FEATURES;
}
