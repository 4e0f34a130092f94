import { equal as assertEquals } from "node:assert/strict";
import { heapPauses } from "../../../../scripts/lib/workerd_probes.ts";

// `perf script -F tid,time,event,trace` lines as perf 6 prints them for the probes gcPausesWhile adds.
const SCRIPT = `
 3610  1094.247453:          spatial_jobs_gc:gc: (5633a46072d0) heap=0xa space=1
 3610  1094.271005: spatial_jobs_gc:gc__return: (5633a46072d0 <- 5633a461cccb)
 3610  1094.300000:          spatial_jobs_gc:gc: (5633a46072d0) heap=0xb space=1
 3610  1094.301000:          spatial_jobs_gc:gc: (5633a46072d0) heap=0xb space=2
 3610  1094.330000: spatial_jobs_gc:gc__return: (5633a46072d0 <- 5633a461cccb)
 3610  1094.340000: spatial_jobs_gc:gc__return: (5633a46072d0 <- 5633a461cccb)
 3610  1094.400000:          spatial_jobs_gc:gc: (5633a46072d0) heap=0xa space=1
 3610  1094.405000: spatial_jobs_gc:gc__return: (5633a46072d0 <- 5633a461cccb)
`;

Deno.test("heapPauses pairs each collection with its return per heap, a nested one inside its outer pause", () => {
  const [b, a] = heapPauses(SCRIPT);
  assertEquals(b!.heap, "0xb");
  assertEquals(b!.count, 1);
  assertEquals(Math.round(b!.totalMs), 40);
  assertEquals(b!.major, 0);
  assertEquals(a!.heap, "0xa");
  assertEquals(a!.count, 2);
  assertEquals(Math.round(a!.totalMs * 1000), 28_552);
  assertEquals(Math.round(a!.maxMs * 1000), 23_552);
});
