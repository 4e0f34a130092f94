/**
 * The typed client of the HTTP API: openapi-fetch over the types generated from /openapi.json
 * (scripts/client/openapi.gen.ts, `deno task client:generate`), so a call's path, parameters, body and answer are
 * checked against the document by `deno task check`.
 *
 * Requests that are safe to send twice are sent again on a fresh connection when the connection fails (wrangler dev
 * closes idle keep-alive sockets: "other side closed") or when the service answers 429/503 with Retry-After:
 * GET, HEAD, PUT, DELETE, and `POST /v1/jobs`, whose body carries the job's idempotency key (the same key and body
 * give the same job).
 *
 * @example
 * ```ts
 * const api = apiClient({ url: "http://127.0.0.1:8787", token });
 * const { data, error } = await api.GET("/v1/jobs/{job_id}", { params: { path: { job_id } } });
 * ```
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./openapi.gen.ts";

export type ApiClient = Client<paths>;
export type JobStatusDocument = components["schemas"]["JobStatus"];
export type JobRequest = components["schemas"]["JobRequest"];
export type Problem = components["schemas"]["Problem"];

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
/** Attempts of one request, the first included. */
const ATTEMPTS = 5;
/** Longest Retry-After honoured, in seconds. */
const MAX_RETRY_AFTER_S = 30;

/** Whether `request` may be sent again: an idempotent method, or a job submission (its key makes it one). */
export function isRetryable(request: Request): boolean {
  return IDEMPOTENT_METHODS.has(request.method) ||
    (request.method === "POST" && new URL(request.url).pathname === "/v1/jobs");
}

/** A fetch that retries {@link isRetryable} requests; each retry after a failed connection uses a new one. */
export function retryingFetch(options: { onRetry?: (reason: string) => void } = {}) {
  return async function fetchWithRetries(request: Request): Promise<Response> {
    const retryable = isRetryable(request);
    // A new HTTP client has its own connection pool: the retry cannot pick up the socket that just failed.
    let client: Deno.HttpClient | undefined;
    for (let attempt = 1;; attempt++) {
      const last = !retryable || attempt === ATTEMPTS;
      let response: Response;
      try {
        response = await fetch(last ? request : request.clone(), client ? { client } : {});
      } catch (error) {
        if (last || !(error instanceof TypeError)) throw error;
        options.onRetry?.(`${request.method} ${request.url}: ${error.message}`);
        client = Deno.createHttpClient({});
        await sleep(100 * 2 ** attempt);
        continue;
      }
      const retryAfter = Number(response.headers.get("retry-after"));
      if (last || ![429, 503].includes(response.status) || !(retryAfter >= 0 && retryAfter <= MAX_RETRY_AFTER_S)) {
        return response;
      }
      await response.body?.cancel();
      options.onRetry?.(`${request.method} ${request.url}: ${response.status}, again in ${retryAfter} s`);
      await sleep(retryAfter * 1000);
    }
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client of the service at `url`, sending `token` as the bearer token. */
export function apiClient(options: { url: string; token: string; onRetry?: (reason: string) => void }): ApiClient {
  return createClient<paths>({
    baseUrl: options.url.replace(/\/+$/, ""),
    headers: { authorization: `Bearer ${options.token}` },
    fetch: retryingFetch({ onRetry: options.onRetry }),
  });
}
