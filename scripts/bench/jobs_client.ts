/** Submitting a job, polling it to a terminal status, and downloading its result, timed, through the public contract. */
import { isTerminal } from "../../shared/state_machine.ts";

export interface StatusDocument {
  job_id: string;
  status: string;
  created_at: string;
  updated_at: string;
  attempts: number;
  progress: { partitions_total: number; partitions_done: number };
  result?: { href: string; format: string; feature_count: number; bytes: number; etag: string };
  error?: { title?: string; detail?: string };
  stats?: Record<string, unknown>;
}

/**
 * The body of a one-point `point_in_polygon` submit against `dataset` under `key` (default a fresh one). The submit
 * benches send it: offshore, its job has no partition, so what runs is the submit path.
 */
export function onePointSubmit(dataset: string, point: readonly [number, number], key = crypto.randomUUID()): string {
  return JSON.stringify({
    job_idempotency_key: key,
    spatial_operation: "point_in_polygon",
    dataset,
    geometry_payload: {
      type: "FeatureCollection",
      features: [{ type: "Feature", id: 1, properties: {}, geometry: { type: "Point", coordinates: point } }],
    },
  });
}

export interface JobRun {
  jobId: string;
  /** `POST /v1/jobs` round trip. */
  submitMs: number;
  /** From sending the POST to the first poll that saw a terminal status. */
  completeMs: number;
  /** Status changes as first seen by polling, with ms since the POST. */
  timeline: { status: string; partitions_done: number; at_ms: number }[];
  final: StatusDocument;
  /** Polls that got no answer within {@link POLL_TIMEOUT_MS} and were sent again. */
  stalledPolls: number;
}

/**
 * wrangler dev's proxy can lose a GET to a stale keep-alive connection and park it until the Worker
 * reloads (workers-sdk#14641): a poll without an answer in this time is abandoned and sent again.
 */
const POLL_TIMEOUT_MS = 5_000;

/** Submit → terminal status as the ledger recorded it (`created_at` → `updated_at`), free of polling delays. */
export function ledgerMs(doc: StatusDocument): number {
  return Date.parse(doc.updated_at) - Date.parse(doc.created_at);
}

export async function runJob(
  url: string,
  token: string,
  request: Record<string, unknown>,
  options: { pollMs?: number; timeoutMs?: number; onRetry?: (status: number, body: unknown) => void } = {},
): Promise<JobRun> {
  const headers = { authorization: `Bearer ${token}` };
  const body = JSON.stringify({ job_idempotency_key: crypto.randomUUID(), ...request });
  let t0 = 0, response: Response, submitted: Record<string, unknown>;
  // 429/503 are answered with Retry-After: retry with the same idempotency key, as a client should.
  for (let attempt = 0;; attempt++) {
    t0 = performance.now();
    response = await fetch(`${url}/v1/jobs`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body,
    });
    const text = await response.text();
    try {
      submitted = JSON.parse(text);
    } catch {
      submitted = { text };
    }
    if ((response.status !== 429 && response.status !== 503) || attempt >= 5) break;
    options.onRetry?.(response.status, submitted);
    await new Promise((r) => setTimeout(r, 1000 * Number(response.headers.get("retry-after") ?? 1)));
  }
  const submitMs = performance.now() - t0;
  if (response.status !== 202) {
    throw new Error(`POST /v1/jobs answered ${response.status}: ${JSON.stringify(submitted)}`);
  }
  const jobId = submitted.job_id as string;
  const timeline: JobRun["timeline"] = [];
  const deadline = performance.now() + (options.timeoutMs ?? 3_600_000);
  let stalledPolls = 0;
  for (;;) {
    // The timeout covers reading the body too: a busy isolate can send the headers and stall the body.
    const doc = await fetch(`${url}/v1/jobs/${jobId}`, { headers, signal: AbortSignal.timeout(POLL_TIMEOUT_MS) })
      .then(async (r) => r.ok ? await r.json() as StatusDocument : (await r.body?.cancel(), null))
      .catch((error) => {
        if (error instanceof DOMException && error.name === "TimeoutError") stalledPolls++;
        return null;
      });
    if (doc) {
      const last = timeline.at(-1);
      if (!last || last.status !== doc.status || last.partitions_done !== doc.progress.partitions_done) {
        timeline.push({
          status: doc.status,
          partitions_done: doc.progress.partitions_done,
          at_ms: performance.now() - t0,
        });
      }
      if (isTerminal(doc.status)) {
        return { jobId, submitMs, completeMs: performance.now() - t0, timeline, final: doc, stalledPolls };
      }
    }
    if (performance.now() > deadline) {
      throw new Error(`Job ${jobId} did not finish in time; last ${JSON.stringify(timeline.at(-1))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
  }
}

/** Downloads the result (`GET /v1/jobs/{id}/result`) and returns the bytes and the milliseconds it took. */
export async function downloadResult(
  url: string,
  token: string,
  jobId: string,
): Promise<{ bytes: Uint8Array; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/jobs/${jobId}/result`, { headers: { authorization: `Bearer ${token}` } });
  const bytes = new Uint8Array(await r.arrayBuffer());
  if (!r.ok) throw new Error(`GET result answered ${r.status}: ${new TextDecoder().decode(bytes).slice(0, 500)}`);
  return { bytes, ms: performance.now() - t0 };
}

export interface ResultSummary {
  pairs: number;
  area: number;
  areaM2: number;
  /** `left_id|right_id` of every feature. */
  keys: string[];
}

/** Pairs and area sums of a GeoJSON result. */
export function summarizeGeoJsonResult(bytes: Uint8Array): ResultSummary {
  const fc = JSON.parse(new TextDecoder().decode(bytes)) as {
    features: { properties: { left_id: unknown; right_id: unknown; area?: number; area_m2?: number } }[];
  };
  let area = 0, areaM2 = 0;
  const keys: string[] = new Array(fc.features.length);
  fc.features.forEach((f, i) => {
    const p = f.properties;
    keys[i] = `${p.left_id}|${p.right_id}`;
    area += p.area ?? 0;
    areaM2 += p.area_m2 ?? 0;
  });
  return { pairs: fc.features.length, area, areaM2, keys };
}
