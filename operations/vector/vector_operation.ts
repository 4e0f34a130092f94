/**
 * What the three vector overlays share as operations: a vector dataset on the
 * right, planning over both sides' tiles, the overlay slice, the SLO
 * fallback, and rows keyed by (left_id, right_id). Each overlay supplies its
 * request fields, its geometry-kind check, its pair rule and its columns.
 */
import { type DatasetManifest, isRasterManifest, type VectorDatasetManifest } from "../../shared/dataset_manifest.ts";
import { PropertiesSelection } from "../../shared/contract/job.ts";
import { cellTileBytes, pinnedDatasetSide } from "../../shared/job_spec.ts";
import type { Operation, OperationPlan, PlanInput, ResolvedLeft, ResultColumn } from "../operation.ts";
import { balancePartitions, groupPartitions } from "../partition_groups.ts";
import { type PairRule, releaseOverlayJob, runOverlaySlice } from "./overlay.ts";
import { cellWork, planPartitions, planPartitionsWithin, reachMetres, specForJob, specForPartition } from "./plan.ts";

export interface VectorOperationParts {
  name: string;
  summary?: Operation["summary"];
  request: Operation["request"];
  /** Problems with the two sides' geometry kinds (`left`: the left side's field name). */
  checkKinds(left: readonly string[], right: readonly string[], leftField: string): { path: string; message: string }[];
  /** The operation parameters the spec records, from the request. */
  params?(request: PlanInput["request"]): OperationPlan["params"];
  rule: PairRule;
  columns: readonly ResultColumn[];
}

/**
 * Partitions of one job at most: sparse cells group more coarsely past it. Locally every partition's ledger lives in
 * one workerd process, whose SQLite heap (512 MiB, process-wide) ran out at ~2,000 live partitions (SQLITE_NOMEM
 * with a job of 2,552).
 */
const MAX_PARTITIONS = 1_500;
/** Where coarser grouping starts when grouping was off (`PARTITION_GROUP_BYTES` 0). */
const MIN_GROUP_BYTES = 64 * 1024;

export function vectorOperation(parts: VectorOperationParts): Operation {
  return {
    name: parts.name,
    ...(parts.summary ? { summary: parts.summary } : {}),
    datasetKind: "vector",
    request: { ...parts.request, fields: { ...parts.request.fields, properties: PropertiesSelection } },
    checkInputs: (left: ResolvedLeft, dataset: DatasetManifest, leftField: string) =>
      parts.checkKinds(left.types, vectorManifest(dataset).geometry_types, leftField),
    plan(input: PlanInput): OperationPlan {
      const { request, left, filter } = input;
      const dataset = vectorManifest(input.dataset);
      const params = parts.params?.(request) ?? {};
      const right = pinnedDatasetSide(dataset);
      const rightTiles = right.tiles;
      const reach = reachMetres({ operation: parts.name, ...params });
      const cells = reach > 0
        ? planPartitionsWithin(left.side.tiles, rightTiles, filter, reach)
        : planPartitions(left.side.tiles, rightTiles, filter);
      const bytesOf = (cell: string) => cellTileBytes(left.side.tiles, rightTiles, cell);
      const costOf = (members: readonly string[]) =>
        members.reduce(
          (cost, cell) => ({
            work: cost.work + cellWork(left.side.tiles, rightTiles, cell),
            bytes: cost.bytes + bytesOf(cell),
          }),
          { work: 0, bytes: 0 },
        );
      const balanced = (groupBytes: number) => {
        const grouped = groupPartitions(cells, bytesOf, groupBytes);
        return balancePartitions(grouped, (partition) => costOf(grouped.members[partition]!), groupBytes);
      };
      let groupBytes = input.groupBytes;
      let plan = balanced(groupBytes);
      while (plan.partitions.length > MAX_PARTITIONS) {
        groupBytes = Math.max(2 * groupBytes, MIN_GROUP_BYTES);
        plan = balanced(groupBytes);
      }
      const { partitions, members, shards } = plan;
      return {
        right,
        partitions,
        members,
        params: Object.keys(shards).length ? { ...params, shards } : params,
      };
    },
    specForJob,
    specForPartition,
    runSlice: (context) => runOverlaySlice(parts.rule, context),
    releaseJob: releaseOverlayJob,
    approximates: true,
    schema: (spec) => ({
      keys: ["left_id", "right_id"],
      columns: parts.columns,
      ...(spec.properties?.length ? { attributes: spec.properties } : {}),
    }),
  };
}

/** The manifest of a vector dataset (the edge checks `datasetKind` before planning). */
function vectorManifest(dataset: DatasetManifest): VectorDatasetManifest {
  if (isRasterManifest(dataset)) throw new TypeError(`Dataset "${dataset.name}" is not a vector dataset`);
  return dataset;
}

/** `a, b` or "none": the geometry kinds of a side, for messages. */
export function kindList(kinds: readonly string[]): string {
  return kinds.length ? kinds.join(", ") : "none";
}
