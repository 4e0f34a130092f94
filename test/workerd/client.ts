/** A small client of the public HTTP contract for runtime tests: tokens, publishing, submitting, polling. */
import { SignJWT } from "jose";
import type { Service } from "./harness.ts";

export const DEV_SECRET = "dev-secret";

export interface Claims {
  sub: string;
  domain: string;
  spatial_scope: [number, number, number, number];
  data_classification: "public" | "internal" | "confidential" | "restricted";
  roles?: string[];
}

export const DEFAULT_CLAIMS: Claims = {
  sub: "tester",
  domain: "geo",
  spatial_scope: [-180, -90, 180, 90],
  data_classification: "restricted",
};

export async function token(claims: Partial<Claims> = {}, secret = DEV_SECRET): Promise<string> {
  return await new SignJWT({ ...DEFAULT_CLAIMS, ...claims } as unknown as Record<string, unknown>)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("1h")
    .setSubject(claims.sub ?? DEFAULT_CLAIMS.sub)
    .sign(new TextEncoder().encode(secret));
}

export async function authHeaders(claims: Partial<Claims> = {}): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await token(claims)}` };
}

export async function readFixture(path: string): Promise<Uint8Array> {
  return await Deno.readFile(new URL(`../fixtures/${path}`, import.meta.url));
}

export async function publish(
  service: Service,
  name: string,
  body: Uint8Array | string,
  options: { contentType?: string; query?: string; claims?: Partial<Claims> } = {},
): Promise<Response> {
  return await service.fetch(`/v1/datasets/${name}?${options.query ?? "classification=public"}`, {
    method: "PUT",
    headers: { ...(await authHeaders(options.claims)), "content-type": options.contentType ?? "application/geo+json" },
    body: body as BodyInit,
  });
}

export async function submit(service: Service, job: Record<string, unknown>, claims: Partial<Claims> = {}) {
  return await service.fetch("/v1/jobs", {
    method: "POST",
    headers: { ...(await authHeaders(claims)), "content-type": "application/json" },
    body: JSON.stringify({ job_idempotency_key: crypto.randomUUID(), ...job }),
  });
}

export interface JobStatusDocument {
  job_id: string;
  status: string;
  attempts: number;
  progress: { partitions_total: number; partitions_done: number };
  result?: { href: string; format: string; feature_count: number; bytes: number; etag: string };
  error?: { detail: string };
  stats?: Record<string, unknown>;
  degraded: boolean;
}

/** Polls the status document until the job reaches a terminal status (or `timeoutMs` passes). */
export async function waitForJob(service: Service, jobId: string, timeoutMs = 120_000): Promise<JobStatusDocument> {
  const deadline = Date.now() + timeoutMs;
  const headers = await authHeaders();
  let last: JobStatusDocument | undefined;
  while (Date.now() < deadline) {
    const response = await service.fetch(`/v1/jobs/${jobId}`, { headers });
    if (response.ok) {
      last = await response.json();
      if (["COMPLETED", "FAILED", "CANCELLED", "DEAD_LETTER"].includes(last!.status)) return last!;
    } else {
      await response.body?.cancel();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Job ${jobId} did not finish in ${timeoutMs} ms; last status ${JSON.stringify(last)}`);
}

export async function fetchResult(service: Service, jobId: string): Promise<Response> {
  return await service.fetch(`/v1/jobs/${jobId}/result`, { headers: await authHeaders() });
}
