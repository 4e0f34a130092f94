/**
 * What a network task keeps in its isolate between slices: the network's block cache (shared by every task on the
 * same pinned version, so partitions in one isolate read a block once), and the task's origins and destinations,
 * read and snapped by its first slice. Everything here is derived from the spec and R2, so a slice after a crash or
 * an eviction rebuilds it identically. A task's state goes when its last slice is done, and a network's blocks when
 * no task in the isolate uses them any more: the isolate's memory then serves the job's commit and other work.
 */
import type { FeatureId } from "../../wasm/flat_geometry.ts";
import { compareFeatureIds } from "../../wasm/flat_geometry.ts";
import type { JobSpec, TileRef } from "../../shared/job_spec.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import type { JobWindow } from "../../shared/auth/job_policy.ts";
import { R2TileReader, type TileBucket } from "../../shared/tiles/fgb_reader.ts";
import { inlineTileBucket } from "../../shared/tiles/inline_tile.ts";
import { networkLinesKey } from "../../shared/r2_keys.ts";
import type { SliceContext } from "../operation.ts";
import { BlockBudget, BlockCache } from "./block_cache.ts";
import { ISOLATE_MEMORY } from "../../shared/config.ts";
import { snapPoint } from "./snap.ts";
import type { ServiceArea } from "./traverse.ts";

/** Points snapped to the network, in id order. */
export interface SnappedPoints {
  ids: FeatureId[];
  refs: Uint32Array;
  vertexIds: Uint32Array;
}

export interface NetworkTask {
  spec: JobSpec;
  cache: BlockCache;
  origins: SnappedPoints;
  /** shortest_path only. */
  destinations?: SnappedPoints;
  snapMs: number;
  /** service_area: the sorted area of an origin whose rows go on in the next slice. */
  area?: { origin: number; area: ServiceArea };
}

/** The blocks every network's tasks hold in this isolate, together. */
const blockBudget = new BlockBudget(ISOLATE_MEMORY.networkBlockBytes);
/** Networks kept loaded at once; tasks kept at once. */
const MAX_NETWORKS = 2;
const MAX_TASKS = 32;

const networks = new Map<string, BlockCache>();
const tasks = new Map<string, { network: string; task: Promise<NetworkTask> }>();
const destinationSnaps = new Map<string, Promise<SnappedPoints>>();

const taskKey = (task: SliceContext["task"]) => `${task.job_id}/${task.attempt}/${task.cell}`;

export function taskOf(context: SliceContext): Promise<NetworkTask> {
  const key = taskKey(context.task);
  let entry = tasks.get(key);
  if (!entry) {
    entry = { network: networkName(networkSide(context.task.spec)), task: loadTask(context) };
    // A failed load (an R2 error) is not kept: the slice's retry reads again.
    entry.task.catch(() => tasks.delete(key));
    tasks.set(key, entry);
    for (const old of tasks.keys()) if (tasks.size > MAX_TASKS) tasks.delete(old);
  }
  return entry.task;
}

/** The task's last slice is done: its state goes, and what no other task here uses with it. */
export function finishNetworkTask(task: SliceContext["task"]): void {
  tasks.delete(taskKey(task));
  dropUnused();
}

export function releaseNetworkJob(jobId: string): void {
  for (const key of tasks.keys()) if (key.startsWith(`${jobId}/`)) tasks.delete(key);
  dropUnused();
}

/** Drops the destination snaps of jobs and the blocks of networks that no task in this isolate uses. */
function dropUnused(): void {
  const jobs = new Set<string>(), used = new Set<string>();
  for (const [key, { network }] of tasks) {
    jobs.add(key.slice(0, key.lastIndexOf("/")));
    used.add(network);
  }
  for (const key of destinationSnaps.keys()) if (!jobs.has(key)) destinationSnaps.delete(key);
  for (const [name, cache] of networks) if (!used.has(name)) dropNetwork(name, cache);
}

/** The job's network: its dataset side, a network's. */
function networkSide(spec: JobSpec) {
  const right = spec.right;
  if (right.kind !== "dataset" || !right.network) throw new TypeError("The job's dataset is not a network.");
  return { name: right.name, version: right.version, tiles: right.tiles, network: right.network };
}

/** The pinned network version a task reads: its block cache's key. */
function networkName(side: { name: string; version: number }): string {
  return `${side.name}@${side.version}`;
}

function networkCache(bucket: TileBucket, spec: JobSpec): BlockCache {
  const right = networkSide(spec);
  const name = networkName(right);
  let cache = networks.get(name);
  if (cache) {
    networks.delete(name);
    networks.set(name, cache);
    return cache;
  }
  const blocks = Object.entries(right.tiles).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, t]) => t);
  cache = new BlockCache(
    { shift: right.network.shift, blocks: blocks.map((t) => ({ vertex_count: t.feature_count, bbox: t.bbox })) },
    async (block, part) => {
      const tile = blocks[block]!;
      const object = await bucket.get(part === "graph" ? tile.key : networkLinesKey(tile.key));
      if (!object) throw new Error(`Network block ${tile.key} (${part}) is missing from R2.`);
      return new Uint8Array(await object.arrayBuffer());
    },
    blockBudget,
  );
  networks.set(name, cache);
  for (const [old, oldCache] of networks) if (networks.size > MAX_NETWORKS) dropNetwork(old, oldCache);
  return cache;
}

function dropNetwork(name: string, cache: BlockCache): void {
  networks.delete(name);
  blockBudget.leave(cache);
}

async function loadTask(context: SliceContext): Promise<NetworkTask> {
  const { bucket, task, window } = context;
  const spec = task.spec;
  const cache = networkCache(bucket, spec);
  const started = Date.now();
  let origins = await readPoints(bucket, spec.left.tiles, spec.bbox, window);
  const share = spec.origin_shares?.[task.cell];
  if (share) {
    const [index, of] = share;
    const keep = origins.ids.map((_, i) => i % of === index);
    origins = { ids: origins.ids.filter((_, i) => keep[i]), xy: origins.xy.filter((_, i) => keep[i >> 1]) };
  }
  const snappedOrigins = await snapAll(cache, origins);
  let destinations: SnappedPoints | undefined;
  const side = spec.destinations;
  if (side) {
    const points = side.kind === "points"
      ? filterPoints({ ids: side.ids, xy: side.xy }, spec.bbox, window)
      : await readPoints(bucket, side.tiles, spec.bbox, window);
    // Every partition of a job snaps the same destinations: once per isolate and attempt.
    const key = `${task.job_id}/${task.attempt}`;
    let snapped = destinationSnaps.get(key);
    if (!snapped) {
      snapped = snapAll(cache, points);
      snapped.catch(() => destinationSnaps.delete(key));
      destinationSnaps.set(key, snapped);
      for (const old of destinationSnaps.keys()) if (destinationSnaps.size > MAX_TASKS) destinationSnaps.delete(old);
    }
    destinations = await snapped;
  }
  return {
    spec,
    cache,
    origins: snappedOrigins,
    ...(destinations ? { destinations } : {}),
    snapMs: Date.now() - started,
  };
}

type Points = { ids: FeatureId[]; xy: number[] };

/** The points of some tiles inside the bbox filter and the window, in id order. */
async function readPoints(
  bucket: TileBucket,
  tiles: Record<string, TileRef>,
  filter: Bbox | null,
  window: JobWindow | null,
): Promise<Points> {
  const out: Points = { ids: [], xy: [] };
  for (const tile of Object.values(tiles)) {
    const reader = await R2TileReader.open(tile.inline ? inlineTileBucket(tile.inline) : bucket, tile.key, {
      size: tile.bytes,
    });
    const columns = await reader.allPoints();
    if (columns) {
      for (let i = 0; i < columns.ids.length; i++) {
        out.ids.push(columns.ids[i]!);
        out.xy.push(columns.xy[2 * i]!, columns.xy[2 * i + 1]!);
      }
      continue;
    }
    for (const feature of await reader.all()) {
      out.ids.push(feature.id);
      out.xy.push(feature.geometry.xy[0]!, feature.geometry.xy[1]!);
    }
  }
  return filterPoints(out, filter, window);
}

function filterPoints(points: Points, filter: Bbox | null, window: JobWindow | null): Points {
  const order = points.ids.map((_, i) => i).filter((i) => {
    const x = points.xy[2 * i]!, y = points.xy[2 * i + 1]!;
    const inFilter = !filter || (x >= filter[0] && x <= filter[2] && y >= filter[1] && y <= filter[3]);
    return inFilter && (window?.some((w) => x >= w[0] && x <= w[2] && y >= w[1] && y <= w[3]) ?? false);
  }).sort((a, b) => compareFeatureIds(points.ids[a]!, points.ids[b]!));
  return {
    ids: order.map((i) => points.ids[i]!),
    xy: order.flatMap((i) => [points.xy[2 * i]!, points.xy[2 * i + 1]!]),
  };
}

async function snapAll(cache: BlockCache, points: Points): Promise<SnappedPoints> {
  const n = points.ids.length;
  const refs = new Uint32Array(n);
  const vertexIds = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const snap = await snapPoint(cache, points.xy[2 * i]!, points.xy[2 * i + 1]!);
    refs[i] = snap.ref;
    vertexIds[i] = snap.vertexId;
  }
  return { ids: points.ids, refs, vertexIds };
}
