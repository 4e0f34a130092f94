/**
 * `point_in_polygon`: one row per (point, polygon) pair where the point lies
 * in or on the polygon (PostGIS `ST_Intersects`), all points on one side and
 * all polygons on the other; the geometry is the point.
 */
import type { FlatFeature } from "../wasm/mod.ts";
import { allPolygonal, allPunctal } from "../shared/contract/geojson.ts";
import { type PartitionData, vertexCount } from "./vector/partition_data.ts";
import { forEachPair, geometryOf, type PairContext, preparedOf } from "./vector/overlay.ts";
import { kindList, vectorOperation } from "./vector/vector_operation.ts";
import type { GeometryCore } from "../wasm/mod.ts";

/** Work units of one point answered by the bulk point-in-polygon path. */
const BULK_POINT_WORK = 16;

export const pointInPolygon = vectorOperation({
  name: "point_in_polygon",
  summary: { title: "Point in polygon", description: "Every point paired with the polygons that contain it." },
  request: {
    fields: {},
    check(_request, add, payloadTypes) {
      if (payloadTypes && !allPolygonal(payloadTypes) && !allPunctal(payloadTypes)) {
        add(
          ["geometry_payload"],
          `point_in_polygon needs all points on one side and all polygons on the other; geometry_payload has ${
            payloadTypes.join(", ")
          }`,
        );
      }
    },
  },
  checkKinds(left, right, leftField) {
    // An empty side gives an empty result.
    if (left.length === 0 || right.length === 0) return [];
    const ok = (allPolygonal(left) && allPunctal(right)) || (allPunctal(left) && allPolygonal(right));
    if (ok) return [];
    return [{
      path: leftField,
      message: `point_in_polygon needs polygons on one side and points on the other; left has ${
        kindList(left)
      }, right has ${kindList(right)}`,
    }];
  },
  rule: {
    exact(pairs, i, mine, rows) {
      const { core, data } = pairs;
      const { left, right } = data;
      const a = left.feature(i);
      const aVertices = vertexCount(a);
      if (!left.allPoints) {
        // Polygons on the left: their candidate points are answered in one bulk call (wasm/ops/point_grid.ts),
        // which visits the polygon once and then costs about a grid lookup per point; only the hits need sorting.
        const hits = right.sortById(pointsInLeftPolygon(core, data, i, mine));
        const xy = right.pointXY;
        for (const j of hits) {
          rows.push(
            xy
              ? { l: a.id, r: right.id(j), x: xy[2 * j]!, y: xy[2 * j + 1]! }
              : { l: a.id, r: right.id(j), g: right.geometry(j) },
          );
        }
        return aVertices + BULK_POINT_WORK * mine.length;
      }
      return forEachPair(pairs, i, mine, (j) => {
        const hit = pointIn(pairs, i, j);
        if (hit) rows.push({ l: a.id, r: right.id(j), g: hit.geometry });
      });
    },
    /** Every candidate pair is a pair; the geometry is the point. */
    approximate({ data }, i, mine, rows) {
      const a = data.left.feature(i);
      data.right.sortById(mine);
      for (const j of mine) {
        rows.push({ l: a.id, r: data.right.id(j), g: data.left.allPoints ? a.geometry : data.right.geometry(j) });
      }
      return mine.length;
    },
  },
  columns: [],
});

/** The point feature of the pair when the point lies in (or on) the polygon, else null. */
function pointIn({ core, data }: Pick<PairContext, "core" | "data">, i: number, j: number): FlatFeature | null {
  const { left, right } = data;
  const [polygons, p, points, q] = left.allPoints ? [right, j, left, i] : [left, i, right, j];
  const point = points.feature(q);
  const prepared = preparedOf(core, polygons, p);
  if (point.geometry.kind === "Point") {
    return prepared.intersectsXY(point.geometry.xy[0]!, point.geometry.xy[1]!) ? point : null;
  }
  return prepared.intersects(geometryOf(core, points, q)) ? point : null;
}

/**
 * The right features of `candidates` (in their order) that lie in (or on) left polygon `i`: Point features in one
 * bulk call.
 */
function pointsInLeftPolygon(core: GeometryCore, data: PartitionData, i: number, candidates: number[]): number[] {
  if (data.right.pointXY) return preparedOf(core, data.left, i).intersectingPoints(data.right.pointXY, candidates);
  const right = data.right;
  const points = candidates.filter((j) => right.geometry(j).kind === "Point");
  const xy = new Float64Array(2 * points.length);
  const order = new Uint32Array(points.length);
  for (let k = 0; k < points.length; k++) {
    const g = right.geometry(points[k]!).xy;
    xy[2 * k] = g[0]!;
    xy[2 * k + 1] = g[1]!;
    order[k] = k;
  }
  const hits = new Set<number>();
  for (const k of preparedOf(core, data.left, i).intersectingPoints(xy, order)) hits.add(points[k]!);
  for (const j of candidates) {
    if (right.geometry(j).kind !== "Point" && pointIn({ core, data }, i, j)) hits.add(j);
  }
  return candidates.filter((j) => hits.has(j));
}
