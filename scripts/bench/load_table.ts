/** The submit-latency table of `bench:e2e`: one row per load step from what `load_submit.ts` printed. */
import type { HeapPeak } from "../lib/heap_usage.ts";

/** What `scripts/bench/load_submit.ts` prints (one JSON line). */
export interface LoadResult {
  rate: number;
  seconds: number;
  points?: string;
  requested?: number;
  sent: number;
  completed: number;
  achieved_rps: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  non2xx_samples?: Record<string, string>;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
}

export const LOAD_HEADER = [
  "rate/s",
  "s",
  "points",
  "sent / asked",
  "achieved/s",
  "p50 ms",
  "p90 ms",
  "p99 ms",
  "max ms",
  "statuses",
  "errors",
  "timeouts",
  "isolate peak MiB",
  "verdict (p99 < 20 ms, no errors)",
];

/** A row of the table: `sent / asked` below 100% means the closed-loop tool fell behind (see load_submit.ts). */
export function loadRow(r: LoadResult, heap?: HeapPeak): string[] {
  const asked = r.requested ?? r.rate * r.seconds;
  const failures = Object.entries(r.statuses).filter(([status]) => !/^2/.test(status))
    .reduce((sum, [, n]) => sum + n, 0) + r.errors + r.timeouts;
  const fellBehind = r.sent < 0.95 * asked;
  const misses = [
    r.latency_ms.p99 >= 20 ? `p99 ${(r.latency_ms.p99 / 20).toFixed(1)}× the target` : "",
    failures ? `${failures} failed` : "",
    fellBehind ? `sent ${Math.round(100 * r.sent / asked)}% of asked` : "",
  ].filter(Boolean);
  return [
    String(r.rate),
    String(r.seconds),
    r.points ?? "conus",
    `${r.sent} / ${asked} (${Math.round(100 * r.sent / asked)}%)`,
    r.achieved_rps.toFixed(1),
    String(r.latency_ms.p50),
    String(r.latency_ms.p90),
    String(r.latency_ms.p99),
    String(r.latency_ms.max),
    Object.entries(r.statuses).map(([s, n]) => `${s}×${n}`).join(" ") || "none",
    String(r.errors),
    String(r.timeouts),
    heap ? (heap.bytes / 2 ** 20).toFixed(1) : "?",
    misses.length ? `not met: ${misses.join(", ")}` : "met",
  ];
}
