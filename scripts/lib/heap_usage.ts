/**
 * The isolate's memory over time, sampled with the DevTools `Runtime.getHeapUsage` command (an open
 * {@link InspectorSession}), and its peak. workerd's V8 answers with the JS heap (`usedSize`, `totalSize`), the
 * embedder's (cppgc) heap, and `backingStorageSize`: array buffers and external strings, which includes every
 * WebAssembly memory (GEOS's heap). Locally the Worker and every Durable Object share one isolate, so its
 * peak bounds what any one Durable Object's isolate would hold on the platform.
 */
import type { InspectorSession } from "./inspector_session.ts";

/** What `Runtime.getHeapUsage` returns (the last two fields only from newer V8s), bytes. */
export interface HeapUsage {
  /** Used JavaScript heap. */
  usedSize: number;
  /** Allocated JavaScript heap. */
  totalSize: number;
  /** Used size of the embedder's garbage-collected heap. */
  embedderHeapUsedSize?: number;
  /** Backing stores of array buffers (WebAssembly memories among them) and external strings. */
  backingStorageSize?: number;
}

export interface HeapSample extends HeapUsage {
  /** Milliseconds since the sampler started, when the answer arrived. */
  atMs: number;
  /** Taken right after a heap snapshot, whose full garbage collection leaves only live memory. */
  live?: true;
}

export interface HeapPeak {
  samples: number;
  /**
   * The longest time between two answers, ms: V8 answers only when the isolate is free, so a peak inside a
   * long synchronous stretch can be missed (the JS heap's; a WebAssembly memory never shrinks).
   */
  maxGapMs: number;
  /** Gaps longer than {@link LONG_GAP_MS}: stretches where a peak may have been missed. */
  longGaps: number;
  /** The first sample's memory (used JS heap + embedder heap + backing stores): what the isolate held already. */
  startBytes: number;
  /** Each field's own maximum over the samples. */
  usedSize: number;
  totalSize: number;
  embedderHeapUsedSize?: number;
  backingStorageSize?: number;
  /** The largest used JS heap + embedder heap + backing stores of one sample: the isolate's memory at one moment. */
  bytes: number;
  /** The largest of the samples taken right after a full garbage collection: live memory, garbage left out. */
  liveBytes?: number;
  /** How many such samples. */
  liveSamples: number;
}

/** A gap between two samples longer than this is reported (a peak inside it may be missed). */
export const LONG_GAP_MS = 1_000;

/** Bytes the isolate uses at one sample: used JS heap, embedder heap and backing stores (WASM memory included). */
export function isolateBytes(u: HeapUsage): number {
  return u.usedSize + (u.embedderHeapUsedSize ?? 0) + (u.backingStorageSize ?? 0);
}

/** The peaks of `samples` (in time order); undefined without any. */
export function heapPeak(samples: readonly HeapSample[]): HeapPeak | undefined {
  const first = samples[0];
  if (!first) return undefined;
  const max = (pick: (s: HeapSample) => number | undefined) => {
    const values = samples.map(pick).filter((v): v is number => v !== undefined);
    return values.length ? Math.max(...values) : undefined;
  };
  let maxGapMs = 0, longGaps = 0;
  for (let i = 1; i < samples.length; i++) {
    const gap = samples[i]!.atMs - samples[i - 1]!.atMs;
    maxGapMs = Math.max(maxGapMs, gap);
    if (gap > LONG_GAP_MS) longGaps++;
  }
  return {
    samples: samples.length,
    maxGapMs,
    longGaps,
    startBytes: isolateBytes(first),
    usedSize: max((s) => s.usedSize)!,
    totalSize: max((s) => s.totalSize)!,
    embedderHeapUsedSize: max((s) => s.embedderHeapUsedSize),
    backingStorageSize: max((s) => s.backingStorageSize),
    bytes: max(isolateBytes)!,
    liveBytes: max((s) => s.live ? isolateBytes(s) : undefined),
    liveSamples: samples.filter((s) => s.live).length,
  };
}

export interface HeapSampler {
  /** Takes a last sample, stops, and returns every sample (none when the isolate never answered). */
  stop(): Promise<HeapSample[]>;
}

/**
 * Asks for `Runtime.getHeapUsage` every `intervalMs` (default 100) until stopped; one request at a time, so a
 * busy isolate delays the next sample instead of queueing requests. Stops by itself when the session closes.
 * With `liveEveryMs`, that often it first takes a heap snapshot (`HeapProfiler.takeHeapSnapshot`, whose chunks
 * are dropped): V8 collects all garbage before one (workerd never answers `HeapProfiler.collectGarbage`), so the
 * sample after it is live memory. Other samples count garbage V8 has not collected yet: array buffers are freed
 * only by a GC, which V8 starts once they grew ~64 MB past what the last one left.
 */
/** How long {@link HeapSampler.stop} waits for the sample in flight. */
const STOP_WAIT_MS = 10_000;

export function startHeapSampler(
  session: Pick<InspectorSession, "send">,
  options: { intervalMs?: number; liveEveryMs?: number } = {},
): HeapSampler {
  const intervalMs = options.intervalMs ?? 100;
  let nextLive = options.liveEveryMs ?? Infinity;
  const t0 = performance.now();
  const samples: HeapSample[] = [];
  let stopping = false;
  let wake: (() => void) | undefined;
  const sample = async () => {
    const live = performance.now() - t0 >= nextLive;
    if (live) {
      await session.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
      nextLive = performance.now() - t0 + options.liveEveryMs!;
    }
    const usage = await session.send<HeapUsage>("Runtime.getHeapUsage");
    samples.push({ ...usage, atMs: performance.now() - t0, ...(live ? { live: true as const } : {}) });
  };
  const loop = (async () => {
    while (!stopping) {
      const asked = performance.now();
      try {
        await sample();
      } catch {
        return; // The session is gone.
      }
      const wait = intervalMs - (performance.now() - asked);
      if (wait > 0 && !stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    await sample().catch(() => {});
  })();
  return {
    async stop() {
      stopping = true;
      wake?.();
      // workerd's inspector can leave a request unanswered for good (seen after a 12-minute Z2 job): keep what came.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([loop, new Promise<void>((resolve) => timer = setTimeout(resolve, STOP_WAIT_MS))]);
      clearTimeout(timer);
      return [...samples];
    },
  };
}

/** The platform's memory limit per isolate ("128 MB" in Cloudflare's limits, read as MiB). */
export const ISOLATE_LIMIT_BYTES = 128 * 2 ** 20;

/**
 * One line comparing each measured peak with {@link ISOLATE_LIMIT_BYTES}, as an upper bound for one Durable Object
 * isolate (locally every object shares the measured isolate), with a warning when samples were far apart.
 */
export function isolateLimitNote(peaks: readonly { label: string; peak: HeapPeak }[], intervalMs = 100): string {
  if (!peaks.length) return "isolate memory: not sampled";
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const pct = (n: number) => `${Math.round(100 * n / ISOLATE_LIMIT_BYTES)}%`;
  const highest = peaks.reduce((a, b) => (b.peak.bytes > a.peak.bytes ? b : a));
  const over = peaks.filter((p) => p.peak.bytes > ISOLATE_LIMIT_BYTES).map((p) => p.label);
  const gappy = peaks.filter((p) => p.peak.maxGapMs > 10 * intervalMs);
  return [
    `isolate memory (Runtime.getHeapUsage every ${intervalMs} ms: used JS heap + embedder heap + array-buffer backing`,
    ` stores, WASM memory included; locally the Worker and every Durable Object share this isolate, so each peak is an`,
    ` upper bound for one DO isolate) against the platform's ${mib(ISOLATE_LIMIT_BYTES)} limit: `,
    peaks.map((p) => `${p.label} ${mib(p.peak.bytes)} (${pct(p.peak.bytes)}; ${mib(p.peak.startBytes)} at start)`)
      .join(", "),
    over.length
      ? `; OVER the limit: ${over.join(", ")} (an upper bound: the share of one DO is not known from here)`
      : `; highest ${highest.label}: every peak under the limit, so every DO isolate is too`,
    ...gappy.map((p) =>
      `; ${p.label}: samples up to ${
        (p.peak.maxGapMs / 1000).toFixed(1)
      } s apart (isolate busy), a JS heap peak between them can be missed`
    ),
  ].join("");
}
