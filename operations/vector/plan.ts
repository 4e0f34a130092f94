/**
 * Planning of the vector overlays: which tile cells can hold a pair, and the
 * share of the spec each partition reads. Pure functions; no I/O.
 */
import { type JobSpec, memberCells, type TileRef } from "../../shared/job_spec.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import { reachBoxes } from "../../wasm/geodesic.ts";
import { bboxesIntersect } from "../../shared/tiles/geometry_bbox.ts";

/**
 * The partitions of a job: the cells where both sides have a tile whose
 * features can pass the bbox filter. A pair of intersecting features shares
 * a point, whose cell both features touch, so both sides have a tile there:
 * no pair can be missed, and cells that cannot hold a pair are skipped.
 */
export function planPartitions(
  left: Record<string, TileRef>,
  right: Record<string, TileRef>,
  filter: Bbox | null,
): string[] {
  const cells: string[] = [];
  for (const [cell, leftTile] of Object.entries(left)) {
    const rightTile = right[cell];
    if (!rightTile) continue;
    if (filter && !(bboxesIntersect(leftTile.bbox, filter) && bboxesIntersect(rightTile.bbox, filter))) continue;
    cells.push(cell);
  }
  return cells.sort();
}

/**
 * The partitions of a `dwithin` job: the right side's cells that some left
 * tile comes within `metres` of (a pair's owner cell is one its right feature
 * touches; the partition then reads the left tiles within reach).
 */
export function planPartitionsWithin(
  left: Record<string, TileRef>,
  right: Record<string, TileRef>,
  filter: Bbox | null,
  metres: number,
): string[] {
  const leftTiles = Object.values(left).filter((t) => !filter || bboxesIntersect(t.bbox, filter));
  const cells: string[] = [];
  for (const [cell, rightTile] of Object.entries(right)) {
    if (filter && !bboxesIntersect(rightTile.bbox, filter)) continue;
    const reach = reachBoxes(rightTile.bbox, metres);
    if (leftTiles.some((t) => reach.some((box) => bboxesIntersect(t.bbox, box)))) cells.push(cell);
  }
  return cells.sort();
}

/**
 * A cell's expected work, in the unit the overlay slice counts (vertices of both features of every pair tested):
 * each feature meets about one feature of the other side, and a test costs both features' vertices, estimated from
 * the tiles' bytes per feature. Against a side of points, a polygon is visited once and each point then costs about
 * the same whatever polygon holds it (the bulk point test is a grid lookup): the polygons' vertices plus
 * {@link POINT_WORK} per point. Weighing points by the polygons' vertices made a hot cell of simple counties look
 * light beside a sparse cell of long coastlines: its shards took 2–4× the median partition's time.
 */
export function cellWork(left: Record<string, TileRef>, right: Record<string, TileRef>, cell: string): number {
  const l = left[cell], r = right[cell];
  const [nl, nr] = [l?.feature_count ?? 0, r?.feature_count ?? 0];
  const [vl, vr] = [verticesPerFeature(l), verticesPerFeature(r)];
  const [pl, pr] = [vl < POINT_VERTICES, vr < POINT_VERTICES];
  if (pl || pr) return (pl ? POINT_WORK : vl) * nl + (pr ? POINT_WORK : vr) * nr;
  return (nl + nr) * (vl + vr);
}

/**
 * Bytes of a stored feature besides its coordinates (index entry, size prefix, table, id and cells columns), and
 * per vertex: a tile of points stores 138.7 bytes per point.
 */
const FEATURE_OVERHEAD_BYTES = 120, VERTEX_BYTES = 16;
/** Fewer vertices per feature than this: a tile of points (a polygon has at least four). */
const POINT_VERTICES = 2;
/**
 * A point's work against polygons: the bulk test counts 16 units a point, and decoding, indexing and staging it
 * take about as long again (a hot cell's shards in `scripts/bench/plan_costs.ts`: compute about half their time).
 */
const POINT_WORK = 32;

function verticesPerFeature(tile: TileRef | undefined): number {
  if (!tile?.feature_count) return 0;
  return Math.max(1, (tile.bytes / tile.feature_count - FEATURE_OVERHEAD_BYTES) / VERTEX_BYTES);
}

/**
 * The spec a partition needs for its own share: the tile references of its
 * cells only (for `dwithin`, the left tiles within reach of its right tiles),
 * so what a job dispatches grows with partitions + tiles, not their product.
 */
export function specForPartition(spec: JobSpec, cell: string): JobSpec {
  const members = memberCells(spec, cell);
  return {
    ...withTilesOf(spec, members),
    partitions: [cell],
    ...(spec.members ? { members: { [cell]: members } } : {}),
    ...(spec.shards?.[cell] ? { shards: { [cell]: spec.shards[cell] } } : { shards: undefined }),
  };
}

/**
 * The job's spec as its records keep it: the tile references of its partitions' cells only. A dataset's manifest
 * lists every tile (the counties' made a one-point job's spec 13 KB, read and written whole at each of its steps);
 * the job reads those of its partitions.
 */
export function specForJob(spec: JobSpec): JobSpec {
  return withTilesOf(spec, spec.partitions.flatMap((cell) => memberCells(spec, cell)));
}

/** Each side's tiles of `cells` (for `dwithin`, the left tiles within reach of those right tiles). */
function withTilesOf(spec: JobSpec, cells: string[]): JobSpec {
  const rightTiles = pick(spec.right.tiles, cells);
  let leftTiles: Record<string, TileRef>;
  if (reachMetres(spec) > 0) {
    const reaches = Object.values(rightTiles).flatMap((t) => reachBoxes(t.bbox, reachMetres(spec)));
    leftTiles = Object.fromEntries(
      Object.entries(spec.left.tiles).filter(([, t]) => reaches.some((reach) => bboxesIntersect(t.bbox, reach))),
    );
  } else {
    leftTiles = pick(spec.left.tiles, cells);
  }
  return { ...spec, left: { ...spec.left, tiles: leftTiles }, right: { ...spec.right, tiles: rightTiles } };
}

function pick(tiles: Record<string, TileRef>, cells: string[]): Record<string, TileRef> {
  const picked: Record<string, TileRef> = {};
  for (const cell of cells) if (tiles[cell]) picked[cell] = tiles[cell];
  return picked;
}

/** How far (metres) a left feature reaches beyond its bbox: `distance_m` for a `dwithin` join, else 0. */
export function reachMetres(spec: Pick<JobSpec, "operation" | "predicate" | "distance_m">): number {
  return spec.operation === "spatial_join" && spec.predicate === "dwithin" ? spec.distance_m ?? 0 : 0;
}
