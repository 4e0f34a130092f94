/**
 * `polygon_intersection`: one row per pair of polygons that overlap with
 * positive area; the geometry is the overlap, with its planar and geodesic
 * areas (PostGIS `ST_Intersection`, `ST_Area`, `ST_Area(geography)`).
 */
import { geodesicArea } from "../wasm/geodesic.ts";
import { allPolygonal } from "../shared/contract/geojson.ts";
import type { Bbox } from "../shared/contract/common.ts";
import { forEachPair, geometryOf, preparedOf } from "./vector/overlay.ts";
import type { Side } from "./vector/partition_data.ts";
import { kindList, vectorOperation } from "./vector/vector_operation.ts";

export const polygonIntersection = vectorOperation({
  name: "polygon_intersection",
  summary: {
    title: "Polygon intersection",
    description: "The overlay of two polygon layers: one feature per intersecting pair, with its area.",
  },
  request: {
    fields: {},
    check(_request, add, payloadTypes) {
      if (payloadTypes && !allPolygonal(payloadTypes)) {
        add(
          ["geometry_payload"],
          `polygon_intersection needs polygons; geometry_payload has ${payloadTypes.join(", ")}`,
        );
      }
    },
  },
  checkKinds(left, right, leftField) {
    const errors = [];
    if (!allPolygonal(left)) {
      errors.push({ path: leftField, message: `polygon_intersection needs polygons; this side has ${kindList(left)}` });
    }
    if (!allPolygonal(right)) {
      errors.push({
        path: "dataset",
        message: `polygon_intersection needs polygons; this side has ${kindList(right)}`,
      });
    }
    return errors;
  },
  rule: {
    exact(pairs, i, mine, rows) {
      const { core, data: { left, right } } = pairs;
      const aId = left.id(i);
      const aGeometry = geometryOf(core, left, i);
      return forEachPair(pairs, i, mine, (j) => {
        // Grid cells and tiles are axis-aligned rectangles: GEOSClipByRect gives the same piece, much faster.
        const bRect = rectangleOf(right, j);
        const aRect = bRect ? null : rectangleOf(left, i);
        if (!bRect && !aRect && !preparedOf(core, left, i).intersects(geometryOf(core, right, j))) return;
        using overlap = bRect
          ? aGeometry.clipToRect(bRect)
          : aRect
          ? geometryOf(core, right, j).clipToRect(aRect)
          : aGeometry.intersection(geometryOf(core, right, j));
        // A piece may come back as a collection with lines or points where the boundaries touch: its area is
        // that of its polygons (as PostGIS's ST_Area of the collection), and the polygons are the piece.
        using piece = overlap.polygonalPart();
        const area = piece.area();
        if (area > 0) {
          rows.push({ l: aId, r: right.id(j), g: piece.toFlat(), p: { area, area_m2: piece.geodesicArea() } });
        }
      });
    },
    /** Bounding-box pieces: the overlap of the two bboxes, with its areas. */
    approximate({ data }, i, mine, rows) {
      const a = data.left.feature(i);
      const aBox = data.left.box(i);
      data.right.sortById(mine);
      for (const j of mine) {
        const bBox = data.right.box(j);
        const box: Bbox = [
          Math.max(aBox[0], bBox[0]),
          Math.max(aBox[1], bBox[1]),
          Math.min(aBox[2], bBox[2]),
          Math.min(aBox[3], bBox[3]),
        ];
        const area = (box[2] - box[0]) * (box[3] - box[1]);
        if (!(area > 0)) continue;
        const ring = {
          kind: "Polygon" as const,
          xy: new Float64Array([box[0], box[1], box[2], box[1], box[2], box[3], box[0], box[3], box[0], box[1]]),
        };
        rows.push({ l: a.id, r: data.right.id(j), g: ring, p: { area, area_m2: geodesicArea(ring) } });
      }
      return mine.length;
    },
  },
  columns: [{ name: "area", type: "double" }, { name: "area_m2", type: "double" }],
});

/** The bbox of a feature that is exactly an axis-aligned rectangle (one closed 5-point ring), else null. */
function rectangleOf(side: Side, i: number): Bbox | null {
  if (side.rectangles[i] !== undefined) return side.rectangles[i];
  const g = side.geometry(i);
  let rect: Bbox | null = null;
  if (g.kind === "Polygon" && !g.ends && g.xy.length === 10) {
    const [minX, minY, maxX, maxY] = side.box(i);
    const xy = g.xy;
    let onCorners = minX < maxX && minY < maxY;
    for (let k = 0; k < 10 && onCorners; k += 2) {
      onCorners = (xy[k] === minX || xy[k] === maxX) && (xy[k + 1] === minY || xy[k + 1] === maxY);
    }
    const edgesAligned = onCorners && [0, 2, 4, 6].every((k) => xy[k] === xy[k + 2] || xy[k + 1] === xy[k + 3]);
    if (edgesAligned) rect = [minX, minY, maxX, maxY];
  }
  return side.rectangles[i] = rect;
}
