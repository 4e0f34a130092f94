/**
 * OGC API – Processes over the same engine, in real workerd: OWSLib (a client no one here wrote) drives it, every
 * document validates against the standard's schemas (ogc/schemas.ts), and a job is one job through both APIs.
 */
import { OPERATIONS } from "../../operations/mod.ts";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import {
  authHeaders,
  expectProblem,
  publishFixtures,
  resultFeatures,
  settledSnapshot,
  stateChanges,
  submit,
  token,
  waitForJob,
} from "./client.ts";
import { assertOgc } from "./ogc/schemas.ts";

const OVERLAY = { left_dataset: "counties", dataset: "grid" };
/** One process per operation the registry lists. */
const PROCESSES = Object.keys(OPERATIONS).sort();

Deno.test("OGC API – Processes over the /v1 engine", async (t) => {
  // One left feature a slice: a job runs for ~2 s, long enough to dismiss it while it runs.
  const service = await startService({ vars: { SLICE_WORK_UNITS: "1" } });
  try {
    await publishFixtures(service, ["counties", "grid"]);
    const headers = await authHeaders();
    const get = async (path: string, init: RequestInit = {}) => {
      const response = await service.fetch(path, { ...init, headers: { ...headers, ...init.headers } });
      const body = await response.json();
      equal(response.status, 200, JSON.stringify(body));
      return body;
    };
    const execute = (process: string, body: unknown, extra: Record<string, string> = {}) =>
      service.fetch(`/processes/${process}/execution`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", prefer: "respond-async", ...extra },
        body: JSON.stringify(body),
      });

    await t.step(
      "landing page, conformance, processes and a process validate against the standard's schemas",
      async () => {
        const landing = await get("/");
        assertOgc("landingPage", landing);
        for (const rel of ["service-desc", "conformance", "processes", "job-list"]) {
          ok(landing.links.some((l: { rel: string }) => l.rel.endsWith(rel)), `landing page links ${rel}`);
        }
        const conformance = await get("/conformance");
        assertOgc("confClasses", conformance);
        for (const cls of ["core", "ogc-process-description", "json", "html", "job-list", "dismiss", "callback"]) {
          ok(conformance.conformsTo.includes(`http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/${cls}`), cls);
        }
        const list = await get("/processes");
        assertOgc("processList", list);
        deepEqual(list.processes.map((p: { id: string }) => p.id).sort(), PROCESSES);
        for (const id of PROCESSES) {
          const process = await get(`/processes/${id}`);
          assertOgc("process", process);
          ok(!("spatial_operation" in process.inputs) && !("job_idempotency_key" in process.inputs));
          equal(process.inputs.dataset.minOccurs, 1);
          equal(process.inputs.bbox.schema.type, "array");
          equal(
            "predicate" in process.inputs,
            id === "spatial_join",
            `${id}: predicate is an input of spatial_join only`,
          );
        }
      },
    );

    await t.step(
      "OWSLib lists, describes, executes asynchronously, polls to successful and downloads the /v1 result",
      async () => {
        const out = await Deno.makeTempFile({ suffix: ".geojson" });
        const key = crypto.randomUUID();
        const python = await new Deno.Command("/usr/bin/python3", {
          args: [
            new URL("./ogc/owslib_client.py", import.meta.url).pathname,
            service.url,
            await token(),
            "polygon_intersection",
            JSON.stringify(OVERLAY),
            key,
            out,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(python.stderr);
        ok(python.success, stderr);
        const seen = JSON.parse(new TextDecoder().decode(python.stdout));
        deepEqual([...seen.processes].sort(), PROCESSES);
        equal(seen.described.id, "polygon_intersection");
        ok(seen.described.inputs.includes("left_dataset") && seen.described.outputs.includes("result"));
        equal(seen.created_status, 201);
        equal(seen.final.status, "successful");
        assertOgc("statusInfo", seen.final);
        equal(seen.final.processID, "polygon_intersection");
        equal(seen.result_status, 200);
        match(seen.result_type, /^application\/geo\+json/);

        // The same job through /v1: the key replays it (200, same id), and its result is the bytes OWSLib downloaded.
        const jobId = seen.final.jobID as string;
        equal(seen.location, `${service.url}/jobs/${jobId}`);
        const replay = await submit(service, {
          job_idempotency_key: key,
          spatial_operation: "polygon_intersection",
          ...OVERLAY,
        });
        equal(replay.status, 200);
        equal((await replay.json()).job_id, jobId);
        const v1 = await waitForJob(service, jobId);
        equal(v1.status, "COMPLETED");
        const downloaded = JSON.parse(await Deno.readTextFile(out)).features;
        ok(downloaded.length > 0);
        deepEqual(downloaded, await resultFeatures(service, jobId));
        equal(downloaded.length, v1.result!.feature_count);
        await Deno.remove(out);
      },
    );

    await t.step("a job submitted through /v1 is in the OGC job list, paged, with statusInfo documents", async () => {
      const submitted = await submit(service, {
        spatial_operation: "spatial_join",
        predicate: "intersects",
        left_dataset: "counties",
        dataset: "grid",
      });
      const { job_id } = await submitted.json();
      await waitForJob(service, job_id);
      const first = await get("/jobs?limit=1");
      assertOgc("jobList", first);
      equal(first.jobs.length, 1);
      equal(first.jobs[0].jobID, job_id, "newest first");
      equal(first.jobs[0].processID, "spatial_join");
      equal(first.jobs[0].status, "successful");
      const next = first.links.find((l: { rel: string }) => l.rel === "next");
      ok(next, "a next link while more jobs remain");
      const second = await get(new URL(next.href).pathname + new URL(next.href).search);
      assertOgc("jobList", second);
      equal(second.jobs[0].processID, "polygon_intersection", "the OWSLib job, on the next page");
      const status = await get(`/jobs/${job_id}`);
      assertOgc("statusInfo", status);
      equal(status.progress, 100);
    });

    await t.step("another caller sees neither the job nor it in their list", async () => {
      const other = await authHeaders({ sub: "someone-else" });
      const list = await (await service.fetch("/jobs", { headers: other })).json();
      deepEqual(list.jobs, []);
      const [{ jobID }] = (await get("/jobs?limit=1")).jobs;
      const problem = await expectProblem(await service.fetch(`/jobs/${jobID}`, { headers: other }), 404);
      equal(problem.type, "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job");
      assertOgc("exception", problem);
    });

    await t.step("dismiss: DELETE cancels the job through /v1's cancel; both APIs show it dismissed", async () => {
      const response = await execute("polygon_intersection", { inputs: OVERLAY });
      equal(response.status, 201);
      const { jobID } = await response.json();
      const dismissed = await (await service.fetch(`/jobs/${jobID}`, { method: "DELETE", headers })).json();
      assertOgc("statusInfo", dismissed);
      equal(dismissed.status, "dismissed");
      equal((await (await service.fetch(`/v1/jobs/${jobID}`, { headers })).json()).status, "CANCELLED");
      equal((await get(`/jobs/${jobID}`)).status, "dismissed");
      const results = await expectProblem(await service.fetch(`/jobs/${jobID}/results`, { headers }), 404);
      equal(results.type, "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/result-not-ready");
    });

    await t.step("bad execute requests: a problem naming the field, and nothing written", async () => {
      const before = await settledSnapshot(service);
      const cases: [string, unknown, Record<string, string>, number, string[]][] = [
        ["polygon_intersection", { inputs: { ...OVERLAY, bbox: [1, 2] } }, {}, 422, ["inputs.bbox"]],
        ["polygon_intersection", { inputs: { dataset: "grid" } }, {}, 422, ["inputs.geometry_payload"]],
        ["polygon_intersection", { inputs: { ...OVERLAY, spatial_operation: "x" } }, {}, 422, [
          "inputs.spatial_operation",
        ]],
        ["polygon_intersection", { inputs: OVERLAY }, { "idempotency-key": "not-a-uuid" }, 422, ["Idempotency-Key"]],
        [
          "polygon_intersection",
          {
            inputs: OVERLAY,
            subscriber: { successUri: "https://a.example/x", failedUri: "https://b.example/y" },
          },
          {},
          422,
          ["subscriber"],
        ],
        ["polygon_intersection", { inputs: { ...OVERLAY, dataset: "no-such-dataset" } }, {}, 422, ["inputs.dataset"]],
        ["polygon_intersection", { process: "x" }, {}, 422, ["inputs"]],
      ];
      for (const [process, body, extra, status, paths] of cases) {
        await expectProblem(await execute(process, body, extra), status, paths);
      }
      const unknown = await expectProblem(await execute("buffer", { inputs: OVERLAY }), 404);
      equal(unknown.type, "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process");
      await expectProblem(await service.fetch("/processes/buffer"), 404);
      await expectProblem(
        await service.fetch("/processes/polygon_intersection/execution", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ inputs: OVERLAY }),
        }),
        401,
      );
      deepEqual(stateChanges(before, await settledSnapshot(service)), []);
    });

    await t.step("HTML: landing page, processes and a job page; the token never appears in the markup", async () => {
      const landing = await service.fetch("/", { headers: { accept: "text/html" } });
      match(landing.headers.get("content-type") ?? "", /^text\/html/);
      match(await landing.text(), /href="\/processes\?f=html"/);
      const processes = await (await service.fetch("/processes?f=html")).text();
      for (const id of PROCESSES) ok(processes.includes(`/processes/${id}?f=html`), id);
      const jwt = await token();
      const [{ jobID }] = (await get("/jobs?limit=1")).jobs;
      const page = await service.fetch(`/jobs/${jobID}?f=html&access_token=${jwt}`);
      equal(page.status, 200);
      const html = await page.text();
      ok(html.includes(`data-job="${jobID}"`));
      ok(!html.includes(jwt), "the token is not echoed");
      await expectProblem(await service.fetch(`/jobs/${jobID}?f=html`), 401);
      const logs = await Deno.readTextFile(service.logFile);
      ok(!logs.includes(jwt.split(".")[2]!), "the token's signature is in no log line");
    });
  } finally {
    await service.stop();
  }
});
