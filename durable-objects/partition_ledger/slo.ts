/**
 * The SLO fallback. Before dispatching an attempt, the home partition
 * projects the job's time from its plan statistics (the bytes of the tiles
 * each partition will read and test); when the projection exceeds
 * `slo_deadline_ms`, the job runs the degraded path instead: bounding boxes
 * stand in for exact geometry (a pair is any two features whose bboxes meet;
 * an intersection piece is the bbox overlap). The status document then says
 * `degraded: true` with the reason, never silently.
 */
import { type JobSpec, memberCells } from "../../shared/job_spec.ts";

/**
 * Tile bytes the exact path processes per millisecond on one partition,
 * measured on this project's 2-core reference machine (counties × 1° grid:
 * ~3 MB of tiles in ~1 s); partitions run in parallel, so the projection is
 * the slowest partition's share plus a fixed overhead per partition.
 */
const EXACT_BYTES_PER_MS = 3_000;
const PARTITION_OVERHEAD_MS = 20;

function projectedMs(spec: JobSpec): number {
  let slowest = 0;
  for (const cell of spec.partitions) {
    // A shard reads its cells' left tiles whole and a share of the right ones.
    const shares = spec.shards?.[cell]?.[1] ?? 1;
    let bytes = 0;
    for (const member of memberCells(spec, cell)) {
      bytes += (spec.left.tiles[member]?.bytes ?? 0) + (spec.right.tiles[member]?.bytes ?? 0) / shares;
    }
    slowest = Math.max(slowest, bytes / EXACT_BYTES_PER_MS);
  }
  return Math.round(slowest + PARTITION_OVERHEAD_MS * Math.ceil(spec.partitions.length / 2));
}

/** The degradation to apply, or null when the exact path fits the deadline. */
export function sloDegradation(spec: JobSpec): { reason: string; projected_ms: number } | null {
  const projected = projectedMs(spec);
  if (projected <= spec.slo_deadline_ms) return null;
  return {
    projected_ms: projected,
    reason: `projected ${projected} ms exceeds slo_deadline_ms ${spec.slo_deadline_ms}: ` +
      "bounding-box approximation instead of exact geometry",
  };
}
