/**
 * Fuzzing against real workerd, in two parts:
 * - hostile requests built to be refused (malformed, oversized, nonsensical):
 *   none may be answered with a 5xx or a 2xx, and the local DO/R2 state is
 *   byte-for-byte unchanged;
 * - the structure-aware fuzzer (scripts/lib/fuzz_cases.ts, also run long by
 *   `deno task fuzz`): thousands of mutated real datasets (us-atlas counties as
 *   GeoJSON, GDAL FlatGeobuf at the byte level) and job bodies, checked by
 *   scripts/lib/fuzz_run.ts: never a 5xx, /health up, nothing written for a
 *   rejected request, accepted datasets and jobs work.
 *
 * `FUZZ_SEED=<n>` replays another sequence; the seed is printed with the tally.
 */
import { equal, ok } from "node:assert/strict";
import { SignJWT } from "jose";
import { type Service, startService } from "./harness.ts";
import { seededRandom } from "../../scripts/lib/seeded_random.ts";
import { formatTally, runFuzz } from "../../scripts/lib/fuzz_run.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20251117);
const CASES = 560;
/** Structure-aware cases in the test command (`deno task fuzz --cases N` for long runs). */
const STRUCTURED_CASES = Number(Deno.env.get("FUZZ_CASES") ?? 5_000);
const CONCURRENCY = Number(Deno.env.get("FUZZ_CONCURRENCY") ?? 8);

interface Case {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: BodyInit;
}

const enc = new TextEncoder();
const square = (x0: number, y0: number, x1: number, y1: number) => [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]];

async function sign(payload: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({
    domain: "geo",
    spatial_scope: [-180, -90, 180, 90],
    data_classification: "restricted",
    iat: now,
    exp: now + 3600,
    ...payload,
  })
    .setProtectedHeader({ alg: "HS256" })
    .sign(enc.encode("dev-secret"));
}

/** A streamed body: a single ring of `vertices` positions, produced lazily (never held in memory). */
function millionVertexRing(vertices: number): ReadableStream<Uint8Array> {
  let i = 0;
  let stage = 0;
  return new ReadableStream({
    pull(controller) {
      if (stage === 0) {
        controller.enqueue(enc.encode(
          `{"job_idempotency_key":"${crypto.randomUUID()}","spatial_operation":"polygon_intersection",` +
            `"input_crs":"EPSG:4326","output_format":"geojson","dataset":"zones","geometry_payload":` +
            `{"type":"FeatureCollection","features":[{"type":"Feature","id":1,"properties":{},"geometry":` +
            `{"type":"Polygon","coordinates":[[`,
        ));
        stage = 1;
        return;
      }
      if (stage === 1) {
        const parts: string[] = [];
        for (let k = 0; k < 20_000 && i < vertices; k++, i++) {
          const a = (2 * Math.PI * i) / vertices;
          parts.push(`[${(Math.cos(a) * 0.5).toFixed(9)},${(Math.sin(a) * 0.5).toFixed(9)}]`);
        }
        controller.enqueue(enc.encode(parts.join(",") + (i < vertices ? "," : "")));
        if (i >= vertices) stage = 2;
        return;
      }
      controller.enqueue(enc.encode(`]]}}]}}`));
      controller.close();
    },
  });
}

/** A JSON document of exactly `bytes` bytes (a long string value), streamed in 1 MiB chunks. */
function oversizedString(bytes: number): ReadableStream<Uint8Array> {
  const prefix = enc.encode('{"padding":"'), suffix = enc.encode('"}');
  let left = bytes - prefix.length - suffix.length;
  let stage = 0;
  const chunk = new Uint8Array(1 << 20).fill(0x61);
  return new ReadableStream({
    pull(controller) {
      if (stage === 0) {
        controller.enqueue(prefix);
        stage = 1;
      } else if (left > 0) {
        const n = Math.min(left, chunk.length);
        controller.enqueue(chunk.subarray(0, n));
        left -= n;
      } else {
        controller.enqueue(suffix);
        controller.close();
      }
    },
  });
}

function generator(rand: () => number, token: string, owner: string) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number) => Math.floor(rand() * n);
  const auth = { authorization: `Bearer ${token}` };
  const jsonHeaders = { ...auth, "content-type": "application/json" };
  const baseJob = () => ({
    job_idempotency_key: crypto.randomUUID(),
    spatial_operation: "polygon_intersection",
    input_crs: "EPSG:4326",
    output_format: "geojson",
    geometry_payload: {
      type: "FeatureCollection",
      features: [{
        type: "Feature",
        id: "a",
        properties: {},
        geometry: { type: "Polygon", coordinates: square(0.1, 0.1, 0.4, 0.4) },
      }],
    },
    dataset: "zones",
  });
  const post = (kind: string, body: BodyInit, headers: Record<string, string> = jsonHeaders): Case => ({
    kind,
    method: "POST",
    path: "/v1/jobs",
    headers,
    body,
  });
  const withGeometry = (geometry: unknown, op = "polygon_intersection") => {
    const job = baseJob();
    job.spatial_operation = op;
    (job.geometry_payload.features[0] as Record<string, unknown>).geometry = geometry;
    return JSON.stringify(job);
  };

  const kinds: Record<string, () => Case> = {
    malformed_json() {
      const text = JSON.stringify(baseJob());
      const variants = [
        () => text.slice(0, int(text.length)),
        () => text.replace(/"/g, "'"),
        () => text.replace("}", ",}"),
        () => text + pick(["x", "}", "]", ",", "null"]),
        () => "{" + text,
        () => Array.from({ length: 1 + int(200) }, () => String.fromCharCode(32 + int(95))).join(""),
        () => pick(["", " ", "null", "[]", "true", "0", '""', "{}"]),
        () => text.replace(/:/, "::"),
      ];
      return post("malformed_json", pick(variants)());
    },
    deep_nesting() {
      const depth = pick([33, 64, 1_000, 100_000]);
      const open = "[".repeat(depth), close = "]".repeat(depth);
      const variants = [
        () => open + close,
        () => withGeometry({ type: "Polygon", coordinates: JSON.parse("[".repeat(40) + "]".repeat(40)) }),
        () =>
          `{"job_idempotency_key":"${crypto.randomUUID()}","geometry_payload":${'{"a":'.repeat(depth)}1${
            "}".repeat(depth)
          }}`,
        () => `{"x":${open}1${close}}`,
      ];
      return post("deep_nesting", pick(variants)());
    },
    huge_numbers() {
      const huge = pick([
        "1e308",
        "1e400",
        "-1e999",
        "123456789012345678901234567890123456789",
        "1.7976931348623157e309",
      ]);
      const text = JSON.stringify(baseJob());
      const variants = [
        () => text.replace("0.1,0.1", `${huge},0.1`),
        () => text.replace('"output_format"', `"slo_deadline_ms":${huge},"output_format"`),
        () =>
          JSON.stringify({ ...baseJob(), spatial_operation: "spatial_join", predicate: "dwithin" }).replace(
            /}$/,
            `,"distance_m":${huge}}`,
          ),
        () => text.replace(/}$/, `,"bbox":[${huge},0,1,1]}`),
      ];
      return post("huge_numbers", pick(variants)());
    },
    nan_infinity() {
      const bad = pick(["NaN", "Infinity", "-Infinity", "+1", "0x10", "1.", ".5", "01"]);
      const text = JSON.stringify(baseJob());
      return post("nan_infinity", text.replace("0.4,0.1", `${bad},0.1`));
    },
    mixed_geometry() {
      const variants = [
        () => withGeometry({ type: "GeometryCollection", geometries: [{ type: "Point", coordinates: [0, 0] }] }),
        () => withGeometry({ type: "LineString", coordinates: [[0, 0], [1, 1]] }),
        () => withGeometry({ type: "Point", coordinates: [0.5, 0.5] }),
        () => withGeometry({ type: "Polygon", coordinates: [[0.5, 0.5]] }),
        () => withGeometry({ type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] }),
        () => withGeometry({ type: "Polygon", coordinates: [[[0, 0], [1, 1], [0, 0]]] }),
        () => withGeometry({ type: "Circle", coordinates: [0, 0], radius: 5 }),
        () => withGeometry({ type: "Polygon", coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]] }),
        () => withGeometry({ type: "MultiPolygon", coordinates: [square(0, 0, 1, 1), [[["a", 0]]]] }),
        () => withGeometry({ type: "Polygon", coordinates: square(0, 0, 200, 1) }),
        () => withGeometry({ type: "Point", coordinates: [0.5, 0.5] }, "point_in_polygon").replace('"zones"', '"pts"'),
        () => withGeometry(null),
      ];
      return post("mixed_geometry", pick(variants)());
    },
    invalid_fields() {
      const job = baseJob() as Record<string, unknown>;
      const variants = [
        () => ({ ...job, unexpected: 1 }),
        () => ({
          ...job,
          job_idempotency_key: pick(["", "not-a-uuid", 42, null, "00000000-0000-0000-0000-000000000000x"]),
        }),
        () => ({ ...job, spatial_operation: pick(["union", "", 7, ["polygon_intersection"]]) }),
        () => ({ ...job, input_crs: pick(["EPSG:0", "EPSG:999999", "WGS84", ""]) }),
        () => ({ ...job, output_format: pick(["shapefile", "kml", null]) }),
        () => ({ ...job, dataset: pick(["../zones", "", "a/b", "z".repeat(500), "%00", 5]) }),
        () => ({ ...job, left_dataset: "zones" }),
        () => ({ ...job, geometry_payload: undefined }),
        () => ({
          ...job,
          bbox: pick([[1, 1, 0, 0], [0, 0, 1], [0, 0, 1, 1, 1], [-200, 0, 1, 1], ["0", 0, 1, 1], [0, 95, 1, 96]]),
        }),
        () => ({ ...job, callback_url: pick(["javascript:alert(1)", "ftp://x", "http://" + "a".repeat(3000), 1]) }),
        () => ({ ...job, predicate: "contains" }),
        () => ({ ...job, slo_deadline_ms: pick([-1, 0, 1.5, "300000"]) }),
      ];
      return post("invalid_fields", JSON.stringify(pick(variants)()));
    },
    invalid_utf8() {
      const text = JSON.stringify(baseJob());
      const at = text.indexOf('"a"') + 1;
      const bad = pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [
        0xe2,
        0x82,
      ]]);
      const bytes = new Uint8Array([...enc.encode(text.slice(0, at)), ...bad, ...enc.encode(text.slice(at))]);
      return post("invalid_utf8", bytes);
    },
    wrong_content_type() {
      const type = pick([
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/geo+json",
        "",
        "application/jsonx",
        "image/png",
      ]);
      const headers: Record<string, string> = { ...auth };
      if (type) headers["content-type"] = type;
      if (rand() < 0.2) {
        headers["content-type"] = "application/json";
        headers["content-encoding"] = pick(["gzip", "br", "deflate", "x-unknown"]);
      }
      return post("wrong_content_type", JSON.stringify(baseJob()), headers);
    },
    oversized_headers() {
      const size = pick([9_000, 17_000, 33_000, 70_000]);
      const headers: Record<string, string> = { ...jsonHeaders };
      if (rand() < 0.5) headers["x-filler"] = "a".repeat(size);
      else for (let k = 0; k < 200; k++) headers[`x-h-${k}`] = "b".repeat(Math.floor(size / 200));
      if (rand() < 0.3) headers["x-request-trace-id"] = "t".repeat(size);
      return post("oversized_headers", "{", headers);
    },
    random_path_method() {
      const method = pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]);
      const segment = () =>
        pick([
          "v1",
          "jobs",
          "datasets",
          "ops",
          "..",
          "%2e%2e",
          "%00",
          "job_" + "f".repeat(int(300)),
          "~",
          "%ff",
          "a b",
          "%25",
        ]);
      let path = "/" + Array.from({ length: 1 + int(5) }, segment).join("/");
      if (rand() < 0.1) path = "/v1/" + "x".repeat(8000);
      const bodyless = method === "GET" || method === "HEAD";
      // Exact existing routes with valid input could succeed (also the OGC API's landing page and job list, once the
      // client resolves dot segments): keep each request off the happy path.
      const resolved = new URL(path, "http://fuzz").pathname;
      if (
        /^\/v1\/(jobs|datasets(\/[^/]+)?)$|^\/(jobs)?$/.test(resolved) && method !== "OPTIONS" && method !== "PATCH"
      ) path += "/x/y";
      if (rand() < 0.2) path += "?" + pick(["status=%ff", "limit=-1", "cursor=" + "c".repeat(600), "a=1&a=2"]);
      return {
        kind: "random_path_method",
        method,
        path,
        headers: rand() < 0.8 ? { ...auth } : {},
        ...(bodyless ? {} : { body: "{" }),
      };
    },
    hostile_tokens() {
      const bad = pick([
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
        "x".repeat(20_000) + ".y.z",
        `${btoa('{"alg":"HS256","kid":"../../etc/passwd"}').replace(/=/g, "")}.e30.AAAA`,
        `${btoa('{"alg":"RS256"}').replace(/=/g, "")}.e30.AAAA`,
        token.slice(0, -3) + "AAA",
      ]);
      return post("hostile_tokens", JSON.stringify(baseJob()), {
        authorization: pick([`Bearer ${bad}`, `Basic ${btoa("a:b")}`, `bearer  ${bad}`, bad]),
        "content-type": "application/json",
      });
    },
    hostile_dataset_put() {
      const name = pick(["zones", "fuzz-new-" + int(1000)]);
      const feature = (id: unknown, geometry: unknown) => ({
        type: "Feature",
        ...(id === undefined ? {} : { id }),
        properties: {},
        geometry,
      });
      const bodies: [string, BodyInit][] = [
        ["application/flatgeobuf", new Uint8Array([0x66, 0x67, 0x62, 0x02, 1, 2, 3, 4])],
        ["application/flatgeobuf", enc.encode("fgb\x03fgb\x00" + "\x00".repeat(int(64)))],
        [
          "application/geo+json",
          JSON.stringify({
            type: "FeatureCollection",
            features: [feature(undefined, { type: "Point", coordinates: [0, 0] })],
          }),
        ],
        [
          "application/geo+json",
          JSON.stringify({
            type: "FeatureCollection",
            features: [
              feature(1, { type: "Point", coordinates: [0, 0] }),
              feature(1, { type: "Point", coordinates: [1, 1] }),
            ],
          }),
        ],
        [
          "application/geo+json",
          JSON.stringify({
            type: "FeatureCollection",
            features: [feature(1, { type: "Polygon", coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]] })],
          }),
        ],
        ["application/geo+json", JSON.stringify({ type: "Feature", id: 1, geometry: null, properties: {} })],
        ["application/json", "[" + "[".repeat(50) + "]".repeat(50) + "]"],
      ];
      const [type, body] = pick(bodies);
      return {
        kind: "hostile_dataset_put",
        method: "PUT",
        path: `/v1/datasets/${name}?classification=${pick(["public", "top-secret", ""])}`,
        headers: { authorization: `Bearer ${owner}`, "content-type": type },
        body,
      };
    },
  };
  const names = Object.keys(kinds);
  return (): Case => kinds[pick(names)]!();
}

/**
 * POSTs `body` chunked over a raw HTTP/1.1 connection and returns the response status as soon as the
 * service answers (it may answer, and stop reading, before the upload is complete).
 */
const DEV_PROXY_DROPPED = "dropped by the dev proxy";

/** {@link streamRaw}, sent again (a fresh body) when the dev proxy dropped it before the Worker saw it. */
async function streamRawResent(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  body: () => ReadableStream<Uint8Array>,
  method = "POST",
): Promise<number | string> {
  let status: number | string = DEV_PROXY_DROPPED;
  for (let tries = 0; tries < 3 && status === DEV_PROXY_DROPPED; tries++) {
    status = await streamRaw(baseUrl, path, headers, body(), method);
  }
  return status;
}

async function streamRaw(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  body: ReadableStream<Uint8Array>,
  method = "POST",
): Promise<number | string> {
  const url = new URL(baseUrl);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const head = [`${method} ${path} HTTP/1.1`, `host: ${url.host}`, "transfer-encoding: chunked", "connection: close"];
  for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${v}`);
  let answered = false;
  const response = (async () => {
    const buf = new Uint8Array(4096);
    let text = "";
    try {
      while (!/\r\n\r\n/.test(text)) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } catch (error) {
      if (!text) return `reset before any response (${error})`;
    } finally {
      answered = true;
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? NaN) || `no status line: ${text.slice(0, 80)}`;
    // wrangler dev's proxy lost its connection to the runtime (workers-sdk#14641): the Worker never saw the request.
    return status === 503 && /\r\nretry-after: 0\r\n/i.test(text) ? DEV_PROXY_DROPPED : status;
  })();
  try {
    // conn.write may write part of a buffer: write it all, or the chunk framing breaks.
    const writeAll = async (bytes: Uint8Array) => {
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    };
    await writeAll(enc.encode(head.join("\r\n") + "\r\n\r\n"));
    const reader = body.getReader();
    while (!answered) {
      const { done, value } = await reader.read();
      if (done) {
        await writeAll(enc.encode("0\r\n\r\n"));
        break;
      }
      await writeAll(enc.encode(value.byteLength.toString(16) + "\r\n"));
      await writeAll(value);
      await writeAll(enc.encode("\r\n"));
    }
    await reader.cancel().catch(() => {});
  } catch {
    // The service stopped reading (it has answered, or is about to): read its answer below.
  }
  try {
    return await response;
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** The local dev proxy's own answer when its upstream Worker connection drops; not an answer of the service. */
const DEV_PROXY_503 = "Your worker restarted mid-request";
export const devProxyRetries = { count: 0 };

async function send(service: Service, c: Case): Promise<number> {
  for (let attempt = 0;; attempt++) {
    const response = await service.fetch(c.path, {
      method: c.method,
      headers: c.headers,
      ...(c.body !== undefined ? { body: c.body } : {}),
    });
    if (response.status < 500) {
      await response.body?.cancel();
      return response.status;
    }
    const text = await response.text();
    // wrangler dev's ProxyWorker answers 503 with this text (never problem+json) and, unlike for GET, does not
    // retry a request with a body itself: resend it (at most twice) and count it; a 5xx of the service fails.
    if (text.startsWith(DEV_PROXY_503) && attempt < 2) {
      devProxyRetries.count++;
      continue;
    }
    console.log(`5xx: ${c.kind} ${c.method} ${c.path.slice(0, 80)} → ${response.status} ${text.slice(0, 300)}`);
    return response.status;
  }
}

Deno.test("fuzz: hundreds of hostile requests get 4xx (never 5xx or 2xx), the service stays up, nothing is written", async () => {
  const service = await startService({ vars: { SUBMIT_RATE_PER_SECOND: "100000", SUBMIT_RATE_BURST: "100000" } });
  const started = performance.now();
  try {
    const owner = await sign({ sub: "fuzz-owner" });
    const token = await sign({ sub: "fuzzer" });
    const zones = {
      type: "FeatureCollection",
      features: [{
        type: "Feature",
        id: 1,
        properties: {},
        geometry: { type: "Polygon", coordinates: square(0, 0, 1, 1) },
      }],
    };
    const pts = {
      type: "FeatureCollection",
      features: [{ type: "Feature", id: 1, properties: {}, geometry: { type: "Point", coordinates: [0.5, 0.5] } }],
    };
    for (const [name, fc] of [["zones", zones], ["pts", pts]] as const) {
      const r = await service.fetch(`/v1/datasets/${name}?classification=public`, {
        method: "PUT",
        headers: { authorization: `Bearer ${owner}`, "content-type": "application/geo+json" },
        body: JSON.stringify(fc),
      });
      equal(r.status, 201, await r.text());
    }
    // The fuzzer's first submission materializes its (storage-less) rate-limiter instance: do it before fingerprinting.
    equal(
      await send(service, {
        kind: "warm",
        method: "POST",
        path: "/v1/jobs",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{",
      }),
      400,
    );
    const before = await service.stateFingerprint();

    const rand = seededRandom(SEED);
    const next = generator(rand, token, owner);
    const tally = new Map<string, Map<number | string, number>>();
    const count = (kind: string, outcome: number | string) => {
      const m = tally.get(kind) ?? new Map();
      m.set(outcome, (m.get(outcome) ?? 0) + 1);
      tally.set(kind, m);
    };
    const failures: string[] = [];
    const cases = Array.from({ length: CASES }, next);
    for (let i = 0; i < cases.length; i += CONCURRENCY) {
      await Promise.all(
        cases.slice(i, i + CONCURRENCY).map(async (c) => {
          try {
            const status = await send(service, c);
            count(c.kind, status);
            if (typeof status !== "number" || status < 400 || status >= 500) {
              failures.push(`${c.kind} ${c.method} ${c.path.slice(0, 80)} → ${status}`);
            }
          } catch (error) {
            count(c.kind, "network-error");
            failures.push(`${c.kind} ${c.method} ${c.path.slice(0, 80)} → ${error}`);
          }
        }),
      );
    }

    // A million-vertex ring (~40 MB) streamed chunked without Content-Length: cut off at the 8 MiB limit (413),
    // never buffered whole. Sent over a raw socket: the service answers before the upload ends, which fetch()
    // reports as a reset instead of the response.
    for (let k = 0; k < 2; k++) {
      const status = await streamRawResent(service.url, "/v1/jobs", {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      }, () => millionVertexRing(1_000_000));
      count("million_vertex_ring", status);
      if (status !== 413) failures.push(`million_vertex_ring → ${status}`);
    }
    // Plain oversized bodies, one byte over each limit, streamed the same way.
    for (
      const [path, limit] of [["/v1/jobs", 8 * 1024 * 1024], [
        "/v1/datasets/zones?classification=public",
        64 * 1024 * 1024,
      ]] as const
    ) {
      const status = await streamRawResent(
        service.url,
        path,
        { authorization: `Bearer ${path === "/v1/jobs" ? token : owner}`, "content-type": "application/json" },
        () => oversizedString(limit + 1),
        path.startsWith("/v1/datasets") ? "PUT" : "POST",
      );
      count("oversized_body", status);
      if (status !== 413) failures.push(`oversized_body ${path} → ${status}`);
    }

    const total = [...tally.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0);
    console.log(`fuzz seed ${SEED}: ${total} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (const [kind, outcomes] of [...tally].sort()) {
      const n = [...outcomes.values()].reduce((a, b) => a + b, 0);
      console.log(
        `  ${kind.padEnd(20)} ${String(n).padStart(4)}  ${[...outcomes].map(([s, c]) => `${s}×${c}`).join(" ")}`,
      );
    }
    console.log(`  (${devProxyRetries.count} requests resent after the local dev proxy's own 503 "${DEV_PROXY_503}")`);
    ok(total >= 500, `${total} cases ran`);
    equal(failures.length, 0, failures.slice(0, 20).join("\n"));

    const health = await service.fetch("/health");
    equal(health.status, 200, "the service still answers /health");
    await health.body?.cancel();
    equal(await service.stateFingerprint(), before, "no ledger row, DO or R2 object was written");
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("fuzz: thousands of mutated real datasets and job bodies: never a 5xx, nothing written when refused, accepted ones work", async () => {
  const service = await startService({ vars: { SUBMIT_RATE_PER_SECOND: "100000", SUBMIT_RATE_BURST: "100000" } });
  try {
    const report = await runFuzz(service, { cases: STRUCTURED_CASES, seed: SEED, log: console.log });
    console.log(
      `structured fuzz seed ${report.seed}: ${report.cases} cases in ${report.seconds.toFixed(1)} s ` +
        `(${report.acceptedDatasets} datasets and ${report.acceptedJobs} jobs accepted)`,
    );
    for (const line of formatTally(report)) console.log(line);
    ok(report.cases >= 5_000 || Deno.env.has("FUZZ_CASES"), `${report.cases} cases ran`);
    ok(report.acceptedDatasets > 0 && report.acceptedJobs > 0, "some mutated inputs were accepted and checked");
    equal(report.findings.length, 0, report.findings.slice(0, 20).join("\n"));
  } finally {
    await service.stop("SIGTERM");
  }
});
