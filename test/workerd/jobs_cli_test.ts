/**
 * `deno task jobs` (scripts/jobs.ts, over the typed client) against a real dev server: submit with --wait, wait,
 * get and list give what the HTTP API gives, and a refused request exits 1 with the problem.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { publishFixtures, token } from "./client.ts";

const CLI = new URL("../../scripts/jobs.ts", import.meta.url).pathname;

async function jobs(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { NO_COLOR: "1", ...env },
  }).output();
  return { code, stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
}

Deno.test("deno task jobs submits, waits, downloads and lists jobs as the API answers them", async (t) => {
  const service = await startService();
  const dir = await Deno.makeTempDir({ prefix: "jobs-cli-" });
  try {
    await publishFixtures(service, ["counties", "points"]);
    const jwt = await token();
    const common = ["--url", service.url, "--token", jwt];
    const apiResult = async (jobId: string) => {
      const response = await service.fetch(`/v1/jobs/${jobId}/result`, {
        headers: { authorization: `Bearer ${jwt}`, "accept-encoding": "identity" },
      });
      equal(response.status, 200);
      return new Uint8Array(await response.arrayBuffer());
    };
    const request = `${dir}/request.json`;
    await Deno.writeTextFile(
      request,
      JSON.stringify({ spatial_operation: "point_in_polygon", left_dataset: "points", dataset: "counties" }),
    );
    let jobId = "";

    await t.step("submit --wait -o: the job completes and the file is the API's result", async () => {
      const out = `${dir}/submit.geojson`;
      const run = await jobs(["submit", request, "--wait", "-o", out, ...common]);
      equal(run.code, 0, run.stderr);
      const job = JSON.parse(run.stdout);
      equal(job.status, "COMPLETED");
      equal(job.progress.percent, 100);
      jobId = job.job_id;
      const file = await Deno.readFile(out);
      deepEqual(file, await apiResult(jobId));
      equal(JSON.parse(new TextDecoder().decode(file)).features.length, job.result.feature_count);
    });

    await t.step("a FlatGeobuf job: submit prints its id, wait follows it, get downloads the API's bytes", async () => {
      const fgbRequest = `${dir}/fgb.json`;
      await Deno.writeTextFile(
        fgbRequest,
        JSON.stringify({ ...JSON.parse(await Deno.readTextFile(request)), output_format: "flatgeobuf" }),
      );
      const submitted = await jobs(["submit", fgbRequest, ...common]);
      equal(submitted.code, 0, submitted.stderr);
      const id = submitted.stdout.trim();
      match(id, /^job_/);
      // The token from the environment instead of --token.
      const waited = await jobs(["wait", id, "--url", service.url], { SPATIAL_JOBS_TOKEN: jwt });
      equal(waited.code, 0, waited.stderr);
      equal(JSON.parse(waited.stdout).status, "COMPLETED");
      const out = `${dir}/result.fgb`;
      const got = await jobs(["get", id, "-o", out, ...common]);
      equal(got.code, 0, got.stderr);
      const file = await Deno.readFile(out);
      deepEqual([...file.subarray(0, 3)], [0x66, 0x67, 0x62], "FlatGeobuf magic bytes");
      deepEqual(file, await apiResult(id));
    });

    await t.step("list prints the caller's jobs, newest first", async () => {
      const listed = await jobs(["list", "--status", "COMPLETED", "--limit", "1", ...common]);
      equal(listed.code, 0, listed.stderr);
      const ids = listed.stdout.trim().split("\n").map((line) => line.split(/\s+/)[0]);
      equal(ids.length, 2, listed.stdout);
      equal(ids[1], jobId);
    });

    await t.step("a request the service refuses exits 1 with the problem, and makes no job", async () => {
      const bad = `${dir}/bad.json`;
      await Deno.writeTextFile(bad, JSON.stringify({ spatial_operation: "point_in_polygon", dataset: "nowhere" }));
      const run = await jobs(["submit", bad, ...common]);
      equal(run.code, 1);
      match(run.stderr, /HTTP 422/);
      const listed = await jobs(["list", ...common]);
      equal(listed.stdout.trim().split("\n").length, 2);
      const usage = await jobs(["submit", ...common]);
      equal(usage.code, 2);
      ok(usage.stderr.includes("Usage: deno task jobs"));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await service.stop();
  }
});
