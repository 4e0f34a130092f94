import assert from "node:assert/strict";
import {
  heapPeak,
  type HeapSample,
  type HeapUsage,
  ISOLATE_LIMIT_BYTES,
  isolateBytes,
  isolateLimitNote,
  startHeapSampler,
} from "../../../../scripts/lib/heap_usage.ts";

const MiB = 2 ** 20;
const sample = (atMs: number, used: number, backing?: number, total = used + 4): HeapSample => ({
  atMs,
  usedSize: used * MiB,
  totalSize: total * MiB,
  ...(backing === undefined ? {} : { embedderHeapUsedSize: 0.5 * MiB, backingStorageSize: backing * MiB }),
});

Deno.test("heap peak: each field's maximum, and the largest sum of one sample (not the sum of maxima)", () => {
  // The JS heap peaks at 100 ms, the buffers (WASM memory) at 200 ms.
  const peak = heapPeak([sample(0, 10, 30), sample(100, 40, 32), sample(200, 20, 60), sample(250, 15, 60)])!;
  assert.equal(peak.samples, 4);
  assert.equal(peak.maxGapMs, 100);
  assert.equal(peak.longGaps, 0);
  assert.equal(peak.startBytes, 40.5 * MiB);
  assert.equal(peak.usedSize, 40 * MiB);
  assert.equal(peak.totalSize, 44 * MiB);
  assert.equal(peak.backingStorageSize, 60 * MiB);
  assert.equal(peak.embedderHeapUsedSize, 0.5 * MiB);
  assert.equal(peak.bytes, 80.5 * MiB);
});

Deno.test("heap peak: without the newer fields, the JS heap alone; none without samples", () => {
  const peak = heapPeak([sample(0, 10), sample(700, 12)])!;
  assert.equal(peak.backingStorageSize, undefined);
  assert.equal(peak.embedderHeapUsedSize, undefined);
  assert.equal(peak.bytes, 12 * MiB);
  assert.equal(peak.maxGapMs, 700);
  assert.equal(heapPeak([sample(0, 10), sample(1_500, 12), sample(1_600, 12), sample(4_000, 12)])!.longGaps, 2);
  assert.equal(isolateBytes({ usedSize: 1, totalSize: 2 }), 1);
  assert.equal(heapPeak([]), undefined);
});

Deno.test("isolate limit note: each peak against 128 MiB, over-limit and sparse sampling called out", () => {
  const under = heapPeak([sample(0, 40, 30), sample(100, 50, 40)])!;
  const over = heapPeak([sample(0, 60, 40), sample(3000, 70, 70)])!;
  const ok = isolateLimitNote([{ label: "J2", peak: under }]);
  assert.match(ok, /128\.0 MiB limit: J2 90\.5 MiB \(71%; 70\.5 MiB at start\)/);
  assert.match(ok, /every peak under the limit/);
  const bad = isolateLimitNote([{ label: "J2", peak: under }, { label: "J3", peak: over }]);
  assert.match(bad, /J3 140\.5 MiB \(110%/);
  assert.match(bad, /OVER the limit: J3 \(an upper bound/);
  assert.match(bad, /J3: samples up to 3\.0 s apart/);
  assert.doesNotMatch(bad, /J2: samples/);
  assert.equal(ISOLATE_LIMIT_BYTES, 134_217_728);
  assert.equal(isolateLimitNote([]), "isolate memory: not sampled");
});

Deno.test("heap sampler: one request at a time, a last sample on stop, ends quietly when the session closes", async () => {
  let inFlight = 0, maxInFlight = 0, calls = 0;
  const session = {
    send<T>(method: string): Promise<T> {
      assert.equal(method, "Runtime.getHeapUsage");
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // A busy isolate: each answer takes longer than the interval.
      return new Promise((resolve) =>
        setTimeout(() => {
          inFlight--;
          resolve({ usedSize: calls * MiB, totalSize: 64 * MiB } satisfies HeapUsage as T);
        }, 15)
      );
    },
  };
  const sampler = startHeapSampler(session, { intervalMs: 5 });
  await new Promise((r) => setTimeout(r, 80));
  const samples = await sampler.stop();
  assert.equal(maxInFlight, 1);
  assert.ok(samples.length >= 3, `${samples.length} samples`);
  assert.equal(samples.length, calls);
  assert.ok(samples.every((s, i) => i === 0 || s.atMs > samples[i - 1]!.atMs));

  let n = 0;
  const closing = {
    send<T>(): Promise<T> {
      return ++n > 2 ? Promise.reject(new Error("closed")) : Promise.resolve({ usedSize: n, totalSize: n } as T);
    },
  };
  const gone = startHeapSampler(closing, { intervalMs: 1 });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await gone.stop()).length, 2);
});
