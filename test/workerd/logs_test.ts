/**
 * Log capture over one job's life, across the edge Worker and the Durable
 * Objects: every line carries trace_id and span_id (and job_id once there is
 * a job), and no secret or sensitive header value appears in any line or in
 * the stored state.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { DEV_SECRET, publishFixtures, token, waitForJob } from "./client.ts";

const TRACE_ID = "logs-test-trace-0001";
const COOKIE_MARKER = "session-marker-5f2b9c";
const IP_MARKER = "203.0.113.77";

/** The JSON object of each log line (wrangler decorates warn/error lines, so find the braces). */
function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    const start = line.indexOf("{");
    const end = line.lastIndexOf("}");
    if (start < 0 || end <= start) continue;
    try {
      out.push(JSON.parse(line.slice(start, end + 1)));
    } catch {
      // Not one of ours (wrangler's own output).
    }
  }
  return out;
}

async function filesContain(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const bytes = new TextEncoder().encode(needle);
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(full);
      else if (entry.isFile) {
        const data = await Deno.readFile(full);
        outer: for (let i = 0; i + bytes.length <= data.length; i++) {
          for (let k = 0; k < bytes.length; k++) if (data[i + k] !== bytes[k]) continue outer;
          hits.push(full);
          break;
        }
      }
    }
  };
  await walk(dir);
  return hits;
}

Deno.test("one job's log lines carry trace_id, span_id and job_id across Worker and DOs, and no secret", async () => {
  // Debug lines too (slices, policy decisions): every line must carry the ids, whatever its level.
  const service = await startService({ vars: { LOG_LEVEL: "debug" } });
  try {
    await publishFixtures(service, ["counties", "grid"]);
    const bearer = await token();
    const response = await service.fetch("/v1/jobs", {
      method: "POST",
      headers: {
        authorization: `Bearer ${bearer}`,
        "content-type": "application/json",
        "x-request-trace-id": TRACE_ID,
        cookie: `session=${COOKIE_MARKER}`,
        "x-forwarded-for": IP_MARKER,
      },
      body: JSON.stringify({
        job_idempotency_key: crypto.randomUUID(),
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
      }),
    });
    equal(response.status, 202);
    equal(response.headers.get("x-request-trace-id"), TRACE_ID);
    const { job_id } = await response.json();
    equal((await waitForJob(service, job_id)).status, "COMPLETED");
    await new Promise((r) => setTimeout(r, 300)); // let the last lines reach the log file

    const text = await Deno.readTextFile(service.logFile);
    const lines = jsonLines(text).filter((l) => l.trace_id === TRACE_ID || l.job_id === job_id);
    // The submit and the home's record of the job are their spans' lines, each naming the job; its start, dispatch
    // and commit are attributes of the home's advance spans.
    const spanOf = (name: string) =>
      lines.find((l) => l.msg === "span" && l.name === name) as { attributes?: Record<string, unknown> } | undefined;
    const advanced = lines.filter((l) => l.msg === "span" && l.name === "partition.advance_job")
      .map((l) => (l as { attributes: Record<string, unknown> }).attributes);
    ok(advanced.every((a) => a.job_id === job_id), "every advance span names the job");
    equal(advanced.find((a) => a.started_attempt !== undefined)?.started_attempt, 1, "the start is logged");
    ok(advanced.some((a) => Number(a.dispatched) > 0), "the dispatch is logged");
    const committed = advanced.find((a) => a.committed !== undefined);
    ok(typeof committed?.committed === "string" && typeof committed.features === "number", "the commit is logged");
    deepEqual(
      ["POST /v1/jobs", "partition.submit"].map((name) => spanOf(name)?.attributes?.job_id),
      [job_id, job_id],
      "the submit's span and the home's record name the job",
    );
    equal(spanOf("POST /v1/jobs")?.attributes?.created, true);
    ok(lines.some((l) => l.msg === "slice checkpointed"), "partition slices are logged");
    for (const line of lines) {
      equal(line.trace_id, TRACE_ID, `trace_id on ${JSON.stringify(line).slice(0, 200)}`);
      ok(typeof line.span_id === "string" && line.span_id.length > 0, `span_id on ${JSON.stringify(line)}`);
    }
    // Lines and spans of the Durable Objects carry job_id itself (the request's span names it in an attribute).
    const durableObjectLines = lines.filter((l) => typeof l.msg === "string" && l.job_id !== undefined);
    ok(
      durableObjectLines.length >= 4,
      `the DOs log the job's life: ${durableObjectLines.map((l) => l.name ?? l.msg).join(", ")}`,
    );
    ok(durableObjectLines.every((l) => l.job_id === job_id));
    const spans = lines.filter((l) => l.msg === "span");
    ok(spans.some((s) => s.name === "partition.advance_job" && s.parent_span_id), "DO spans link to the request span");

    for (const secret of [bearer, DEV_SECRET, COOKIE_MARKER, IP_MARKER]) {
      ok(!text.includes(secret), `the log never contains ${secret.slice(0, 12)}…`);
    }
    for (const secret of [bearer, COOKIE_MARKER, IP_MARKER]) {
      const hits = await filesContain(service.stateDir, secret);
      equal(hits.length, 0, `no stored state contains ${secret.slice(0, 12)}…: ${hits.join(", ")}`);
    }
  } finally {
    await service.stop("SIGTERM");
  }
});
