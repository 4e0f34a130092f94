/**
 * What the benchmark watches in the service's isolate during one job (or the submit load), over one inspector
 * connection (wrangler's proxy takes one client at a time): its memory ({@link startHeapSampler}) and, on
 * request, a CPU profile. No full GC first: workerd never answers `HeapProfiler.collectGarbage`, so a peak includes
 * the garbage earlier jobs left (the start value says how much the isolate held already).
 */
import { type CpuProfile, type CpuProfileSession, startCpuProfile } from "../lib/cpu_profile.ts";
import { type HeapPeak, heapPeak, type HeapSample, type HeapSampler, startHeapSampler } from "../lib/heap_usage.ts";
import { openInspector } from "../lib/inspector_session.ts";

export interface IsolateWatch {
  /** Stops both; the connection is closed afterwards. */
  stop(): Promise<{ heap?: HeapPeak; samples?: HeapSample[]; profile?: CpuProfile }>;
}

export async function watchIsolate(
  inspector: string,
  options: { heap: boolean; profile: boolean; heapIntervalMs?: number; liveEveryMs?: number },
): Promise<IsolateWatch> {
  const session = await openInspector(inspector);
  let sampler: HeapSampler | undefined;
  let profiler: CpuProfileSession | undefined;
  try {
    if (options.profile) profiler = await startCpuProfile(session);
    if (options.heap) {
      sampler = startHeapSampler(session, { intervalMs: options.heapIntervalMs, liveEveryMs: options.liveEveryMs });
    }
  } catch (error) {
    session.close();
    throw error;
  }
  return {
    async stop() {
      try {
        const samples = await sampler?.stop();
        const profile = await profiler?.stop();
        return { heap: samples && heapPeak(samples), samples, profile };
      } finally {
        session.close();
      }
    },
  };
}
