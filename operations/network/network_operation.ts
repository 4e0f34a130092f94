/**
 * What shortest_path and service_area share as operations: a network dataset on the right, origins (points) on the
 * left, planning by the origins' tiles (each tile's origins spread over up to {@link MAX_SHARES} partitions, since
 * every origin's search is independent), and a slice that snaps its origins, then searches from them one by one
 * until its work budget is spent. The network's blocks are read as the searches reach them (block_cache.ts).
 */
import { cellToChildren, getResolution } from "h3-js";
import type { DatasetManifest } from "../../shared/dataset_manifest.ts";
import { datasetKind, isRasterManifest } from "../../shared/dataset_manifest.ts";
import { type JobSpec, pinnedDatasetSide, type StagedRow, type TileRef } from "../../shared/job_spec.ts";
import { bboxesIntersect } from "../../shared/tiles/geometry_bbox.ts";
import type {
  Operation,
  OperationPlan,
  PlanInput,
  ResolvedLeft,
  ResultSchema,
  SliceContext,
  SliceOutput,
} from "../operation.ts";
import { kindList } from "../vector/vector_operation.ts";
import { finishNetworkTask, type NetworkTask, releaseNetworkJob, taskOf } from "./task_state.ts";

/** Partitions one origin tile's searches spread over at most (an H3 cell's children at the next resolution). */
export const MAX_SHARES = 7;
/** Origins below which a tile's searches stay in one partition. */
const ORIGINS_PER_SHARE = 8;
/**
 * Vertices a share's searches may settle, at most (a search is bounded by the network's vertex count), below which
 * a tile's searches stay in one partition: ~5 s of CPU. A partition's alarms, slices, staged parts and report
 * cost more than a small job's searches (N1, 100 × 100 on 14,000 vertices, in 7 partitions: 1.4× pgRouting).
 */
const VERTICES_PER_SHARE = 10_000_000;

export interface NetworkOperationParts {
  name: string;
  request: Operation["request"];
  /** Extra request fields the edge pins as datasets (their manifests reach `params`). */
  pins?: Operation["pins"];
  params(input: PlanInput): OperationPlan["params"];
  /**
   * The rows `skip .. skip + room` of one origin (`origin` is the index in the task's id-sorted origins), pushed
   * to `rows`; answers the search's work and the origin's row count.
   */
  rowsOf(task: NetworkTask, origin: number, rows: StagedRow[], skip: number, room: number): Promise<RowsOf>;
  schema(spec: JobSpec): ResultSchema;
}

export interface RowsOf {
  work: number;
  total: number;
}

/**
 * Rows a network slice stops at, below the executor's bound: a slice holds its rows (and a service area its settled
 * vertices) until they are staged, and the network's blocks stay loaded beside them. N3 (174,125 rows from 100
 * origins in 6 partitions, from a fresh isolate at 52 MiB) peaked at 140–169 MiB in slices of ~29,000 rows, 125–129
 * MiB in slices of 8,192, 113–114 MiB in slices of 4,096, the job's wall and CPU time alike (2.2–2.8 s, load 3–4).
 */
const MAX_SLICE_ROWS = 4_096;

/**
 * A slice's resume point packs the origin and the rows of it already given: one origin's rows (a service area
 * over a whole network) may be more than a slice holds, and then the next slice goes on from the row it stopped at.
 */
const ORIGIN_STRIDE = 2 ** 32;
const resumeAt = (origin: number, skip: number) => origin * ORIGIN_STRIDE + skip;
const resumePoint = (offset: number) => [Math.floor(offset / ORIGIN_STRIDE), offset % ORIGIN_STRIDE] as const;

export function networkOperation(parts: NetworkOperationParts): Operation {
  return {
    name: parts.name,
    datasetKind: "network",
    request: parts.request,
    ...(parts.pins ? { pins: parts.pins } : {}),
    checkInputs: (left: ResolvedLeft, _dataset: DatasetManifest, leftField: string) =>
      left.types.every((t) => t === "Point") ? [] : [{
        path: leftField,
        message: `${parts.name} needs points as origins; ${leftField} has ${kindList(left.types)}`,
      }],
    plan(input: PlanInput): OperationPlan {
      const { left, dataset, filter } = input;
      if (isRasterManifest(dataset) || datasetKind(dataset) !== "network" || dataset.block_shift === undefined) {
        throw new TypeError(`Dataset "${dataset.name}" is not a network.`);
      }
      const partitions: string[] = [];
      const members: Record<string, string[]> = {};
      const shares: Record<string, [number, number]> = {};
      for (const [cell, tile] of Object.entries(left.side.tiles).sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (filter && !bboxesIntersect(tile.bbox, filter)) continue;
        const count = Math.min(
          MAX_SHARES,
          Math.ceil(tile.feature_count / ORIGINS_PER_SHARE),
          Math.ceil((tile.feature_count * (dataset.vertex_count ?? Infinity)) / VERTICES_PER_SHARE),
        );
        const names = count > 1 ? cellToChildren(cell, getResolution(cell) + 1).slice(0, count) : [cell];
        names.forEach((name, i) => {
          partitions.push(name);
          members[name] = [cell];
          shares[name] = [i, names.length];
        });
      }
      return {
        right: { ...pinnedDatasetSide(dataset), network: { shift: dataset.block_shift } },
        partitions: partitions.sort(),
        members,
        params: { ...parts.params(input), origin_shares: shares },
      };
    },
    specForPartition(spec: JobSpec, cell: string): JobSpec {
      const members = spec.members?.[cell] ?? [cell];
      const leftTiles: Record<string, TileRef> = {};
      for (const member of members) if (spec.left.tiles[member]) leftTiles[member] = spec.left.tiles[member];
      const share = spec.origin_shares?.[cell];
      return {
        ...spec,
        left: { ...spec.left, tiles: leftTiles },
        partitions: [cell],
        members: { [cell]: members },
        ...(share ? { origin_shares: { [cell]: share } } : {}),
      };
    },
    async runSlice(context: SliceContext): Promise<SliceOutput> {
      const started = Date.now();
      const task = await taskOf(context);
      const readMs = Date.now() - started;
      const rows: StagedRow[] = [];
      const blockReads = task.cache.stats.block_reads;
      let work = 0;
      let [origin, skip] = resumePoint(context.task.next_offset);
      const stats: Record<string, number> = { read_ms: readMs };
      if (context.task.next_offset === 0) {
        stats.candidates = task.origins.ids.length;
        stats.snap_ms = task.snapMs;
      }
      let searches = 0;
      const maxRows = Math.min(context.maxRows, MAX_SLICE_ROWS);
      while (origin < task.origins.ids.length && work < context.workBudget && rows.length < maxRows) {
        const room = maxRows - rows.length;
        const out = await parts.rowsOf(task, origin, rows, skip, room);
        work += out.work;
        searches++;
        if (out.total > skip + room) {
          skip += room;
          break;
        }
        origin++;
        skip = 0;
      }
      stats.exact_tests = work;
      stats.work = work;
      stats.block_reads = task.cache.stats.block_reads - blockReads;
      stats.searches = searches;
      const done = origin >= task.origins.ids.length;
      if (done) finishNetworkTask(context.task);
      return { next_offset: resumeAt(origin, skip), rows, stats, done };
    },
    releaseJob: releaseNetworkJob,
    approximates: false,
    schema: parts.schema,
  };
}
