/**
 * `spatial_join`: one row per (left, right) pair that satisfies the predicate
 * (`intersects`, `contains`, `within`: left contains/within right; `dwithin`:
 * geodesic distance ≤ `distance_m`, as PostGIS `ST_DWithin` on geography);
 * the geometry is the left feature's.
 */
import { z } from "@hono/zod-openapi";
import { Predicate } from "../shared/contract/job.ts";
import { MAX_DISTANCE_M } from "../shared/contract/limits.ts";
import { forEachPair, geometryOf, preparedOf } from "./vector/overlay.ts";
import { vectorOperation } from "./vector/vector_operation.ts";

export const spatialJoin = vectorOperation({
  name: "spatial_join",
  summary: {
    title: "Spatial join",
    description: "Pairs of features that satisfy a predicate (intersects, contains, within, dwithin).",
  },
  request: {
    fields: { predicate: Predicate, distance_m: z.number().positive().max(MAX_DISTANCE_M) },
    check(request, add) {
      if ((request.predicate ?? "intersects") === "dwithin") {
        if (request.distance_m === undefined) add(["distance_m"], "distance_m (metres, > 0) is required for dwithin");
      } else if (request.distance_m !== undefined) {
        add(["distance_m"], "distance_m applies to the dwithin predicate only");
      }
    },
    defaults: (request) => request.predicate === undefined ? { ...request, predicate: "intersects" } : request,
  },
  checkKinds: () => [],
  params: (request) => ({
    predicate: (request.predicate as Predicate | undefined) ?? "intersects",
    ...(request.predicate === "dwithin" ? { distance_m: request.distance_m as number } : {}),
  }),
  rule: {
    exact(pairs, i, mine, rows) {
      const { core, spec, data: { left, right } } = pairs;
      const a = left.feature(i);
      const aGeometry = geometryOf(core, left, i);
      return forEachPair(pairs, i, mine, (j) => {
        const bGeometry = geometryOf(core, right, j);
        let hit: boolean;
        if (spec.predicate === "dwithin") hit = core.dwithin(aGeometry, bGeometry, spec.distance_m ?? 0);
        else {
          const prepared = preparedOf(core, left, i);
          hit = spec.predicate === "contains"
            ? prepared.contains(bGeometry)
            : spec.predicate === "within"
            ? prepared.within(bGeometry)
            : prepared.intersects(bGeometry);
        }
        if (hit) rows.push({ l: a.id, r: right.id(j), g: a.geometry });
      });
    },
    /** Every candidate pair is a pair. */
    approximate({ data }, i, mine, rows) {
      const a = data.left.feature(i);
      data.right.sortById(mine);
      for (const j of mine) rows.push({ l: a.id, r: data.right.id(j), g: a.geometry });
      return mine.length;
    },
  },
  columns: [],
});
