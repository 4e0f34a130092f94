/**
 * `deno task jobs`: submit, follow, download and list jobs from the command line, through the typed client
 * (scripts/client/mod.ts).
 *
 * @example
 * ```sh
 * deno task jobs submit request.json --wait -o result.geojson
 * deno task jobs wait job_…
 * deno task jobs get job_… -o result.fgb
 * deno task jobs list --status COMPLETED
 * ```
 */
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { type ApiClient, apiClient, type JobStatusDocument, type Problem } from "./client/mod.ts";
import { devToken } from "./lib/dev_token.ts";

const HELP = `Usage: deno task jobs <command> [options]

Commands:
  submit <request.json> [--wait] [-o file]   submit a job (POST /v1/jobs) and print its id; with --wait, follow it
                                             to the end (and with -o, download the result)
  wait <job_id> [-o file]                    follow a job to the end with a progress bar; print its status document
  get <job_id> [-o file]                     download the job's result (to stdout without -o)
  list [--status S] [--limit N]              the caller's jobs, newest first

Options:
  --url <base>       service URL (default: $SPATIAL_JOBS_URL, else http://127.0.0.1:8787)
  --token <jwt>      bearer token (default: $SPATIAL_JOBS_TOKEN, else a dev token signed with the JWT_SECRET of
                     .dev.vars or .dev.vars.example, which only a local service accepts)
  -o, --output <f>   where the result goes
  --status <s>       list: QUEUED | IN_PROGRESS | COMPLETED | FAILED | CANCELLED | DEAD_LETTER
  --limit <n>        list: jobs per page (the command pages through all of them)
  --no-progress      no progress bar
  -h, --help         this help

A request without job_idempotency_key gets a new one; sending the same file again then makes a new job.

Exit status: 0 done (a job COMPLETED), 1 the service answered with an error or the job did not complete,
2 bad usage or unreadable file.`;

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    url: { type: "string", default: Deno.env.get("SPATIAL_JOBS_URL") ?? "http://127.0.0.1:8787" },
    token: { type: "string" },
    output: { type: "string", short: "o" },
    wait: { type: "boolean", default: false },
    status: { type: "string" },
    limit: { type: "string" },
    "no-progress": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

function usage(message: string): never {
  console.error(`${message}\n\n${HELP}`);
  Deno.exit(2);
}

/** Prints the problem the service answered with and exits 1. */
function fail(status: number, problem: Problem | unknown): never {
  const p = problem as Partial<Problem> | undefined;
  console.error(`HTTP ${status}${p?.title ? ` ${p.title}` : ""}${p?.detail ? `: ${p.detail}` : ""}`);
  for (const e of p?.errors?.slice(0, 20) ?? []) console.error(`  ${e.path}: ${e.message}`);
  if (p?.trace_id) console.error(`trace_id ${p.trace_id}`);
  Deno.exit(1);
}

const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "DEAD_LETTER"]);
const POLL_MS = 500;

/** Polls the status document until the job ends, drawing `progress.percent` on stderr. */
async function wait(api: ApiClient, jobId: string): Promise<JobStatusDocument> {
  const bar = !values["no-progress"] && Deno.stderr.isTerminal()
    ? new cliProgress.SingleBar({
      format: "{status} [{bar}] {percentage}% | partitions {done}/{total} | {duration_formatted}",
      hideCursor: true,
      stream: process.stderr,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  let last = "";
  bar?.start(100, 0, { status: "QUEUED", done: 0, total: "?" });
  try {
    for (;;) {
      const { data, error, response } = await api.GET("/v1/jobs/{job_id}", { params: { path: { job_id: jobId } } });
      if (!data) fail(response.status, error);
      const { percent, partitions_done, partitions_total } = data.progress;
      bar?.update(percent, { status: data.status, done: partitions_done, total: partitions_total });
      if (!bar && data.status !== last) console.error(`${data.status} ${percent}%`);
      last = data.status;
      if (TERMINAL.has(data.status)) return data;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    bar?.stop();
  }
}

/** Writes the job's result to `output` (stdout without it), as the service's identity bytes. */
async function download(api: ApiClient, jobId: string, output: string | undefined): Promise<void> {
  const { data, error, response } = await api.GET("/v1/jobs/{job_id}/result", {
    params: { path: { job_id: jobId } },
    headers: { "accept-encoding": "identity" },
    parseAs: "stream",
  });
  if (!data) fail(response.status, error);
  const sink = output
    ? (await Deno.open(output, { write: true, create: true, truncate: true })).writable
    : Deno.stdout.writable;
  await data.pipeTo(sink);
  if (output) console.error(`${response.headers.get("content-type")} → ${output}`);
}

/** Ends the process for a finished job: its status document on stdout, exit 1 unless it COMPLETED. */
function finish(job: JobStatusDocument): void {
  console.log(JSON.stringify(job, null, 2));
  if (job.status !== "COMPLETED") {
    console.error(`Job ${job.job_id} ${job.status}${job.error ? `: ${JSON.stringify(job.error)}` : ""}`);
    Deno.exit(1);
  }
}

if (values.help) {
  console.log(HELP);
  Deno.exit(0);
}
const [command, argument, ...extra] = positionals;
if (extra.length) usage(`Unexpected arguments: ${extra.join(" ")}`);

let token = values.token ?? Deno.env.get("SPATIAL_JOBS_TOKEN");
if (!token) {
  try {
    token = await devToken();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(2);
  }
}
const api = apiClient({ url: values.url, token, onRetry: (reason) => console.error(`retrying: ${reason}`) });

switch (command) {
  case "submit": {
    if (!argument) usage("submit needs a request file.");
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(await Deno.readTextFile(argument));
    } catch (error) {
      console.error(`Cannot read "${argument}": ${error instanceof Error ? error.message : error}`);
      Deno.exit(2);
    }
    const body = { job_idempotency_key: crypto.randomUUID(), ...request } as Parameters<typeof api.POST>[1]["body"];
    const { data, error, response } = await api.POST("/v1/jobs", { body });
    if (!data) fail(response.status, error);
    console.error(`${response.status === 200 ? "Existing job" : "Submitted"} ${data.job_id}`);
    if (!values.wait) {
      console.log(data.job_id);
      break;
    }
    const job = await wait(api, data.job_id);
    if (job.status === "COMPLETED" && values.output) await download(api, job.job_id, values.output);
    finish(job);
    break;
  }
  case "wait": {
    if (!argument) usage("wait needs a job id.");
    const job = await wait(api, argument);
    if (job.status === "COMPLETED" && values.output) await download(api, job.job_id, values.output);
    finish(job);
    break;
  }
  case "get": {
    if (!argument) usage("get needs a job id.");
    await download(api, argument, values.output);
    break;
  }
  case "list": {
    if (argument) usage("list takes no argument.");
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    let cursor: string | undefined;
    do {
      const { data, error, response } = await api.GET("/v1/jobs", {
        params: {
          query: {
            ...(values.status ? { status: values.status as JobStatusDocument["status"] } : {}),
            ...(limit ? { limit } : {}),
            ...(cursor ? { cursor } : {}),
          },
        },
      });
      if (!data) fail(response.status, error);
      for (const job of data.jobs) {
        console.log(
          [job.job_id, job.status.padEnd(11), `${job.progress.percent}%`.padStart(4), job.created_at].join("  "),
        );
      }
      cursor = data.next_cursor;
    } while (cursor);
    break;
  }
  default:
    usage(command ? `Unknown command "${command}".` : "Give a command.");
}
