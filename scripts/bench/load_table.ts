/** The submit-latency table of `bench:e2e`: one row per load step from what `load_submit.ts` printed. */
/** `submit` a job; `edge`: read a job id that names no partition (the edge alone); `status`: read one job (one DO call). */
export type LoadKind = "submit" | "edge" | "status";

/** What `scripts/bench/load_submit.ts` prints (one JSON line). */
export interface LoadResult {
  kind: LoadKind;
  url: string;
  rate: number;
  seconds: number;
  points?: string;
  requested: number;
  /** Requests sent (on schedule: the generator is open loop). */
  sent: number;
  /** Requests answered before the step ended; the rest were still waiting. */
  completed: number;
  achieved_rps: number;
  statuses: Record<string, number>;
  expected_status: number;
  /** Connection errors and time-outs. */
  errors: number;
  non2xx_samples?: Record<string, string>;
  /** The service's own Server-Timing per stage (`total` is its whole handling, from the Worker's first middleware). */
  stages_ms?: Record<string, { n: number; p50: number; p99: number }>;
  /** Answers by the second of the run their request was sent in: how many, their p99 and max latency in ms. */
  by_second?: { n: number; p99: number; max: number }[];
  latency_ms: { p50: number; p90: number; p95?: number; p99: number; max: number; mean: number };
}

/**
 * Runs scripts/bench/load_submit.ts in its own process: `rate` one-point submits/s against `dataset` for `seconds`
 * to `url` (the runtime's own socket), taking the tokens of `tokenFile` in turn, at `points` (conus|offshore).
 */
export async function runLoadSubmit(
  url: string,
  tokenFile: string,
  rate: string,
  seconds: string,
  dataset: string,
  points: string,
): Promise<LoadResult> {
  const script = new URL("./load_submit.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, url, `@${tokenFile}`, "submit", rate, seconds, dataset, points],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!) as LoadResult;
}

export const LOAD_HEADER = [
  "request",
  "via",
  "rate/s",
  "s",
  "answered / sent",
  "achieved/s",
  "p50 ms",
  "p90 ms",
  "p99 ms",
  "max ms",
  "statuses",
  "verdict (p99 < 20 ms, all answered, no errors)",
];

const DESCRIBED: Record<LoadKind, string> = {
  submit: "POST /v1/jobs (submit)",
  edge: "GET /v1/jobs/{malformed id} (edge only, 404)",
  status: "GET /v1/jobs/{id} (edge + 1 DO call)",
};

/**
 * A row of the table. `via` says which door: wrangler dev's proxy (what a local client sees) or the
 * runtime's own socket. The verdict is the target, judged for submits only; the other kinds are
 * floors measured on the same runtime in the same run.
 */
export function loadRow(r: LoadResult, via: string): string[] {
  const unexpected = Object.entries(r.statuses).filter(([status]) => status !== String(r.expected_status))
    .reduce((sum, [, n]) => sum + n, 0);
  const unanswered = r.sent - r.completed;
  const misses = [
    r.latency_ms.p99 >= 20 ? `p99 ${(r.latency_ms.p99 / 20).toFixed(1)}× the target` : "",
    unexpected ? `${unexpected} not ${r.expected_status}` : "",
    unanswered > 0 ? `${unanswered} unanswered at the end` : "",
  ].filter(Boolean);
  const verdict = misses.length ? `not met: ${misses.join(", ")}` : "met";
  return [
    DESCRIBED[r.kind] + (r.points && r.points !== "conus" ? `, ${r.points} points` : ""),
    via,
    String(r.rate),
    String(r.seconds),
    `${r.completed} / ${r.sent}`,
    r.achieved_rps.toFixed(1),
    String(r.latency_ms.p50),
    String(r.latency_ms.p90),
    String(r.latency_ms.p99),
    String(r.latency_ms.max),
    Object.entries(r.statuses).map(([s, n]) => `${s}×${n}`).join(" ") || "none",
    r.kind === "submit" ? verdict : `floor (${verdict})`,
  ];
}

/** One line: each Server-Timing stage's p50 / p99 in ms, in the order the service reported them. */
export function stagesLine(r: LoadResult): string {
  return Object.entries(r.stages_ms ?? {})
    .map(([name, { p50, p99 }]) => `${name} ${p50.toFixed(1)} / ${p99.toFixed(1)}`)
    .join(", ");
}
