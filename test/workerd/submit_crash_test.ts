/**
 * Submits under a real crash: 50 POST /v1/jobs are in flight when every
 * process of the dev server (wrangler, workerd and their children) is
 * SIGKILLed. After a restart on the same state, every acknowledged job
 * completes (before any replay), and a replay of every key sent (acknowledged or not) returns
 * the job it was acknowledged with, or creates it once: no key ever names a
 * job that never runs, and no key makes two jobs.
 */
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { type Service, startService } from "./harness.ts";
import { authHeaders, publishFixtures, readJsonFixture, waitForJob } from "./client.ts";

const SUBMITS = 50;

/** Every process descended from `pid` (itself included), from /proc. */
async function processTree(pid: number): Promise<Set<number>> {
  const parents = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // The command name may hold spaces: fields after its closing parenthesis are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry.name), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [child, parent] of parents) {
      if (tree.has(parent) && !tree.has(child)) {
        tree.add(child);
        grew = true;
      }
    }
  }
  return tree;
}

async function commandOf(pid: number): Promise<string> {
  return (await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "")).replaceAll("\0", " ");
}

async function alive(pid: number): Promise<boolean> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

async function post(service: Service, body: Record<string, unknown>): Promise<Response> {
  return await service.fetch("/v1/jobs", {
    method: "POST",
    headers: { ...(await authHeaders()), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

Deno.test("50 submits in flight when the whole dev server is SIGKILLed: every acknowledged job completes without a replay, every key's replay returns its one job", async () => {
  // No rate limit (50 at once), and payloads go to R2: a submit then writes the claim, the payload and the job.
  const service = await startService({ vars: { SUBMIT_RATE_PER_SECOND: "0", INLINE_PAYLOAD_BYTES: "0" } });
  try {
    await publishFixtures(service, ["counties", "grid", "points"]);
    const counties = (await readJsonFixture<{ features: unknown[] }>("inputs/counties_sample.geojson")).features;
    const templates: Record<string, unknown>[] = [
      {
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
        bbox: [-105.5, 38.5, -104.0, 40.2],
      },
      {
        spatial_operation: "point_in_polygon",
        left_dataset: "counties",
        dataset: "points",
        bbox: [-109, 37, -102, 41],
      },
      {
        spatial_operation: "polygon_intersection",
        geometry_payload: { type: "FeatureCollection", features: counties.slice(20, 26) },
        dataset: "grid",
        repair: true,
      },
    ];
    const bodies = Array.from({ length: SUBMITS }, (_, i) => ({
      job_idempotency_key: crypto.randomUUID(),
      ...templates[i % templates.length],
    }));

    const tree = await processTree(service.pid);
    const commands = await Promise.all([...tree].map(commandOf));
    ok(commands.some((c) => c.includes("workerd")), `a workerd runs in the tree: ${commands.join(" | ")}`);

    const acknowledged = new Map<number, string>();
    const answered: number[] = [];
    let kill!: () => void;
    const killNow = new Promise<void>((resolve) => (kill = resolve));
    const inFlight = bodies.map(async (body, i) => {
      try {
        const response = await post(service, body);
        const json = await response.json();
        answered.push(response.status);
        if (response.status === 202 || response.status === 200) acknowledged.set(i, json.job_id);
        if (answered.length >= 12) kill();
      } catch {
        // The connection died with the server: not acknowledged.
      }
    });
    await Promise.race([killNow, new Promise((r) => setTimeout(r, 20_000))]);
    await service.stop("SIGKILL");
    await Promise.all(inFlight);
    // A killed process with a large heap takes a moment to exit: give the kernel a few seconds, no more.
    let survivors: string[] = [];
    for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
      survivors = [];
      for (const pid of tree) if (await alive(pid)) survivors.push(`${pid} ${await commandOf(pid)}`);
      if (survivors.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    equal(survivors.join("\n"), "", "no process of the dev server survives the kill");
    const unacknowledged = SUBMITS - acknowledged.size;
    console.log(
      `submit crash: ${acknowledged.size} of ${SUBMITS} submits acknowledged before the SIGKILL, ${unacknowledged} not`,
    );
    ok(unacknowledged > 0, "the kill hit submits in flight");
    ok(acknowledged.size > 0, "some submits were acknowledged");

    await service.restart();
    const restartedAt = Date.now();
    // Before any replay: every acknowledged job reaches its home from the registry's outbox and completes.
    for (const [i, jobId] of acknowledged) {
      const status = await waitForJob(service, jobId, 120_000);
      equal(status.status, "COMPLETED", `acknowledged key ${i}, not replayed: ${JSON.stringify(status)}`);
    }
    const replayedClaims = new Set<number>();
    const jobIds: string[] = [];
    for (const [i, body] of bodies.entries()) {
      const first = await post(service, body);
      const doc = await first.json();
      ok([200, 202].includes(first.status), `key ${i}: ${first.status} ${JSON.stringify(doc)}`);
      if (!acknowledged.has(i) && first.status === 200) replayedClaims.add(i);
      if (acknowledged.has(i)) {
        equal(first.status, 200, `key ${i} was acknowledged: its replay is a replay`);
        equal(doc.job_id, acknowledged.get(i), `key ${i}: the acknowledged job`);
      }
      const again = await post(service, body);
      equal(again.status, 200);
      equal((await again.json()).job_id, doc.job_id, `key ${i}: one job for the key`);
      jobIds.push(doc.job_id);
    }
    equal(new Set(jobIds).size, SUBMITS, "a job per key");

    const results = new Map<number, string>();
    for (const [i, jobId] of jobIds.entries()) {
      const status = await waitForJob(service, jobId, 120_000);
      equal(status.status, "COMPLETED", `key ${i}: ${JSON.stringify(status)}`);
      equal(status.attempts, 1, `key ${i}: ran once`);
      const template = i % templates.length;
      const expected = results.get(template);
      if (expected === undefined) results.set(template, status.result!.etag);
      else equal(status.result!.etag, expected, `key ${i}: the same result as its template's other jobs`);
    }

    // Exactly once: the home ledgers hold one creation and one completion per job, and no job but these.
    const operator = await authHeaders({ roles: ["operator"] });
    const created = new Map<string, number>();
    const completed = new Map<string, number>();
    const createdAfterRestart = new Set<string>();
    for (const cell of new Set(jobIds.map((id) => id.split("_")[1]!))) {
      const text = await (await service.fetch(`/v1/ops/partitions/${cell}/events`, { headers: operator })).text();
      for (const event of text.trim().split("\n").map((line) => JSON.parse(line))) {
        if (event.kind !== "transition") continue;
        if (event.from_status === null) {
          created.set(event.job_id, (created.get(event.job_id) ?? 0) + 1);
          if (event.at >= restartedAt) createdAfterRestart.add(event.job_id);
        }
        if (event.to_status === "COMPLETED") completed.set(event.job_id, (completed.get(event.job_id) ?? 0) + 1);
      }
    }
    deepEqual([...created.keys()].sort(), [...jobIds].sort(), "the ledgers hold exactly the keys' jobs");
    ok([...created.values(), ...completed.values()].every((n) => n === 1), "each created and completed once");
    equal(completed.size, SUBMITS);
    const completedByReplay = [...replayedClaims].filter((i) => createdAfterRestart.has(jobIds[i]!)).length;
    console.log(
      `submit crash: ${replayedClaims.size} keys claimed but not acknowledged before the kill; ` +
        `${completedByReplay} of their jobs were recorded after the restart (from the outbox or by the replay)`,
    );
    notEqual(results.size, 0);
  } finally {
    await service.stop("SIGTERM");
  }
});
