/**
 * `PUT /v1/datasets/{name}` from a client: the body is streamed in chunks so
 * the caller can show upload progress (bytes handed to the socket).
 */

export type DatasetMediaType = "application/geo+json" | "application/flatgeobuf";

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
  return null;
}

export function datasetUrl(
  options: Pick<PublishOptions, "url" | "name" | "repair" | "crs" | "classification">,
): string {
  const query = new URLSearchParams();
  if (options.classification) query.set("classification", options.classification);
  if (options.repair) query.set("repair", "true");
  if (options.crs) query.set("crs", options.crs);
  const qs = query.toString();
  return `${options.url.replace(/\/+$/, "")}/v1/datasets/${encodeURIComponent(options.name)}${qs ? `?${qs}` : ""}`;
}

/** Publishes `body` and reads the answer; never throws for an HTTP error status. */
export async function publishDataset(options: PublishOptions): Promise<PublishOutcome> {
  const { body, onProgress } = options;
  const chunk = options.chunkBytes ?? 256 * 1024;
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
  const started = performance.now();
  const response = await fetch(datasetUrl(options), {
    method: "PUT",
    headers: {
      authorization: `Bearer ${options.token}`,
      "content-type": options.contentType,
      "content-length": String(body.byteLength),
    },
    body: stream,
  });
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
