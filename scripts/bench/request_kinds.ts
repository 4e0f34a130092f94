/**
 * The main thread's CPU per request of each kind, one request at a time on the runtime's own socket: what a request
 * costs the one workerd thread that runs the Worker and every Durable Object, from a 404 of no route (the floor) to a
 * submit (the edge, the catalog's and the claim's calls, and the job it starts). Two refs alternate (A, B, A, B …),
 * each from a snapshot with fresh state; printed per run and kind: main-thread CPU ms per request (`schedstat`, ns)
 * and wall ms per request. Not a test.
 *
 * `--count N` (root, `perf`) then sends N more of each kind and counts what they made workerd do per request (SQL
 * statements, commits, fsyncs, RPCs, HTTP events between its workers, Request constructions, header reads and writes:
 * scripts/lib/workerd_probes.ts). Counts do not drift with the machine: a change that does less shows on one run.
 *
 * `--wrappers N` (root, `perf`) then sends N more of each kind and counts the runtime objects each made every isolate
 * create (Request, Headers, a SQL cursor, an RPC promise …; scripts/lib/workerd_probes.ts `wrappersWhile`): each is
 * work for its isolate's young-generation collections, which pause the one thread.
 *
 * @example
 * ```sh
 * deno run -A scripts/bench/request_kinds.ts --ref HEAD --base HEAD~1 --pairs 2 --requests 1000
 * deno run -A scripts/bench/request_kinds.ts --ref HEAD --base HEAD~1 --pairs 1 --requests 200 --count 200
 * deno run -A scripts/bench/request_kinds.ts --ref HEAD --base HEAD~1 --pairs 1 --requests 50 --wrappers 500
 * ```
 */
import { parseArgs } from "node:util";
import { Agent, request } from "node:http";
import * as data from "./datasets.ts";
import { publishDataset } from "./upload.ts";
import { loadAverage, mainThreadRunNs, runtimeOf, snapshotTree, startBenchService } from "./service.ts";
import { devToken } from "../lib/dev_token.ts";
import { onePointSubmit } from "./jobs_client.ts";
import { freePort } from "../lib/wrangler_dev.ts";
import {
  addProbes,
  countWhile,
  removeProbes,
  workerdBinary,
  type WrapperCensus,
  wrappersWhile,
} from "../lib/workerd_probes.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    ref: { type: "string", default: "worktree" },
    base: { type: "string", default: "HEAD" },
    pairs: { type: "string", default: "2" },
    requests: { type: "string", default: "1000" },
    count: { type: "string", default: "0" },
    wrappers: { type: "string", default: "0" },
  },
});

/** One request at a time over one kept-alive socket, as a client that waits for each answer. */
function client(url: string) {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return (method: string, path: string, token?: string, body?: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body) headers["content-type"] = "application/json";
      const req = request({ agent, host: target.hostname, port: target.port, path, method, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end(body);
    });
}

/** Open Pacific: a job without a partition. */
const OFFSHORE = [-135, 5] as const;

type Counted = [string, Record<string, number>];
let probes: { name: string; event: string }[] | undefined;

async function runOnce(
  ref: string,
): Promise<
  { ref: string; rows: [string, number, number, string][]; counted: Counted[]; census: [string, WrapperCensus[]][] }
> {
  const tree = await snapshotTree(ref);
  const state = await Deno.makeTempDir({ prefix: "spatial-jobs-kinds-" });
  const port = await freePort();
  const service = await startBenchService(port, state, `${state}/dev.log`, tree.dir);
  try {
    const url = `http://127.0.0.1:${port}`;
    const owner = await devToken({ sub: "bench", domain: "geo" }, { ttlSeconds: 3600 });
    const body = data.geoJsonBytes(data.counties());
    const published = await publishDataset({
      url,
      name: "counties",
      body,
      contentType: "application/geo+json",
      token: owner,
      repair: true,
    });
    if (!published.ok) throw new Error(`publish answered ${published.status}`);
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => devToken({ sub: `kinds-${i}`, domain: "geo" })),
    );
    const { direct, pid } = await runtimeOf(service, port);
    const send = client(direct);
    const token = (i: number) => tokens[i % tokens.length]!;
    const kinds: [string, (i: number) => Promise<number>][] = [
      ["404, no route", () => send("GET", "/nope")],
      ["401, no token", () => send("GET", "/v1/jobs/none")],
      ["404 job, with a token", (i) => send("GET", "/v1/jobs/none", token(i))],
      ["422 submit", (i) => send("POST", "/v1/jobs", token(i), "{}")],
      ["202 submit", (i) => send("POST", "/v1/jobs", token(i), onePointSubmit("counties", OFFSHORE))],
    ];
    const n = Number(flags.requests);
    const rows: [string, number, number, string][] = [];
    const counted: Counted[] = [];
    const toCount = Number(flags.count);
    const toCensus = Number(flags.wrappers);
    const census: [string, WrapperCensus[]][] = [];
    if (toCount > 0) probes ??= await addProbes(workerdBinary(pid));
    for (const [name, kind] of kinds) {
      for (let i = 0; i < 50; i++) await kind(i); // warm: JIT, each subject's objects live
      await new Promise((r) => setTimeout(r, 500));
      const statuses: Record<number, number> = {};
      const ns0 = mainThreadRunNs(pid);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const status = await kind(i);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      const wallMs = (performance.now() - t0) / n;
      // The jobs the last submits started run on the same thread: counted with them.
      await new Promise((r) => setTimeout(r, 300));
      rows.push([name, (mainThreadRunNs(pid) - ns0) / 1e6 / n, wallMs, JSON.stringify(statuses)]);
      if (toCount > 0) {
        const counts = await countWhile(pid, probes!, async () => {
          for (let i = 0; i < toCount; i++) await kind(i);
          await new Promise((r) => setTimeout(r, 300));
        });
        counted.push([name, Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / toCount]))]);
      }
      if (toCensus > 0) {
        census.push([
          name,
          await wrappersWhile(pid, async () => {
            for (let i = 0; i < toCensus; i++) await kind(i);
            await new Promise((r) => setTimeout(r, 300));
          }),
        ]);
      }
    }
    return { ref: `${ref} (${tree.commit.slice(0, 10)})`, rows, counted, census };
  } finally {
    await service.stop();
    await Deno.remove(state, { recursive: true }).catch(() => {});
    await Deno.remove(tree.dir, { recursive: true }).catch(() => {});
  }
}

console.log("| run | ref | request | main thread CPU ms/request | wall ms/request | statuses | load average |");
console.log("|---|---|---|---:|---:|---|---|");
let run = 0;
const counts: [string, Counted[]][] = [];
const censuses: [string, [string, WrapperCensus[]][]][] = [];
try {
  for (let pair = 0; pair < Number(flags.pairs); pair++) {
    for (const ref of [flags.ref, flags.base]) {
      const { ref: label, rows, counted, census } = await runOnce(ref);
      run++;
      for (const [name, cpu, wall, statuses] of rows) {
        console.log(
          `| ${run} | ${label} | ${name} | ${cpu.toFixed(2)} | ${wall.toFixed(2)} | ${statuses} | ${loadAverage()} |`,
        );
      }
      if (pair === 0) counts.push([label, counted]);
      if (pair === 0 && census.length) censuses.push([label, census]);
    }
  }
} finally {
  if (probes) await removeProbes();
}
const operations = [...new Set(counts.flatMap(([, c]) => c.flatMap(([, ops]) => Object.keys(ops))))];
if (operations.length) {
  console.log(`\nWhat workerd did per request (${flags.count} of each kind, one at a time; jobs included):\n`);
  console.log(`| ref | request | ${operations.join(" | ")} |`);
  console.log(`|---|---|${operations.map(() => "---:|").join("")}`);
  for (const [label, counted] of counts) {
    for (const [name, ops] of counted) {
      console.log(`| ${label} | ${name} | ${operations.map((op) => (ops[op] ?? 0).toFixed(2)).join(" | ")} |`);
    }
  }
}

/** A class name short enough to read: without the namespace, cut at 60 characters. */
function shortType(type: string): string {
  const name = type.replaceAll("workerd::", "");
  return name.length > 60 ? `${name.slice(0, 59)}…` : name;
}

/** Only the Worker's isolate (its Durable Objects run in it) makes Durable Object ids and SQL cursors. */
const WORKER_TYPES = ["workerd::api::DurableObjectId", "workerd::api::SqlStorage::Cursor"];
if (censuses.length) {
  const n = Number(flags.wrappers);
  console.log(`\nRuntime objects created per request, by isolate (${n} of each kind, one at a time; jobs included):\n`);
  console.log("| ref | request | the Worker's isolate | the other isolates, each |");
  console.log("|---|---|---:|---|");
  for (const [label, census] of censuses) {
    const worker = new Set(
      census.flatMap(([, isolates]) =>
        isolates.filter((i) => i.byType.some(([type]) => WORKER_TYPES.includes(type))).map((i) => i.isolate)
      ),
    );
    for (const [name, isolates] of census) {
      const own = isolates.find((i) => worker.has(i.isolate));
      const others = isolates.filter((i) => !worker.has(i.isolate)).map((i) => (i.total / n).toFixed(1));
      console.log(`| ${label} | ${name} | ${((own?.total ?? 0) / n).toFixed(1)} | ${others.join(", ")} |`);
    }
    const [, submit] = census.at(-1)!;
    const own = submit.find((i) => worker.has(i.isolate));
    if (own) {
      const top = own.byType.slice(0, 12).map(([type, k]) => `${shortType(type)} ${(k / n).toFixed(2)}`);
      console.log(`\n${label}, ${census.at(-1)![0]}, the Worker's isolate, per request: ${top.join("; ")}`);
    }
  }
}
