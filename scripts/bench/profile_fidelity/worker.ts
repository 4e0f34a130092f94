/**
 * Known work per request, for scripts/bench/profile_fidelity.ts: `/log?k=N` writes N lines the size of a submit's
 * access-log line, `/spin?k=N` runs N × 100,000 iterations of arithmetic, `/copy?k=N` makes N copies of the request
 * without its `authorization` header (as the gateway does, src/http/gateway.ts), `/empty` nothing.
 */
const LINE = JSON.stringify({
  ts: "2026-12-06T13:15:09.459Z",
  level: "info",
  msg: "span",
  name: "POST /v1/jobs",
  kind: "server",
  start_time: "2026-12-06T13:15:09.438Z",
  end_time: "2026-12-06T13:15:09.459Z",
  duration_ms: 21,
  attributes: {
    "http.request.method": "POST",
    "url.path": "/v1/jobs",
    "http.response.status_code": 202,
    "http.route": "/v1/jobs",
    job_id: "8a2a1072b59ffff-0196f0a3c2b47a8e9d1c2b3a4f5e6d7c",
    created: true,
    partitions: 0,
  },
  status: { code: "UNSET" },
  trace_id: "58a5668d39710c638b3f3e97436af8cd",
  span_id: "ca715b94c1ebac35",
});
let sink = 0;

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url);
    const k = Number(url.searchParams.get("k") ?? 0);
    if (url.pathname === "/log") { for (let i = 0; i < k; i++) console.log(LINE); }
    if (url.pathname === "/copy") {
      for (let i = 0; i < k; i++) {
        const kept: [string, string][] = [];
        request.headers.forEach((value, name) => name !== "authorization" && kept.push([name, value]));
        sink += new Request(request, { headers: kept }).headers.has("authorization") ? 0 : 1;
      }
    }
    if (url.pathname === "/spin") { for (let i = 0; i < k * 100_000; i++) sink += Math.sqrt(i); }
    return new Response(String(sink > 0));
  },
};
