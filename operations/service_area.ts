/**
 * `service_area`: for each origin (left points, snapped to their nearest vertices), every vertex whose least travel
 * cost from it is at most `max_cost`, as pgRouting's `pgr_drivingDistance(edges, origins, max_cost, directed :=
 * true, equicost := false)`; the origin's own vertex is always there at 0. The geometry is the vertex.
 */
import { z } from "@hono/zod-openapi";
import { networkOperation } from "./network/network_operation.ts";
import { serviceAreaFrom } from "./network/traverse.ts";

export const serviceArea = networkOperation({
  name: "service_area",
  request: {
    fields: {
      max_cost: z.number().nonnegative().openapi({
        description: "service_area (required): the largest aggregate cost reported, in the network's cost units.",
      }),
    },
    check(request, add, payloadTypes) {
      if (payloadTypes && payloadTypes.some((t) => t !== "Point")) {
        add(["geometry_payload"], `service_area needs points as origins; geometry_payload has ${payloadTypes}`);
      }
      if (request.max_cost === undefined) add(["max_cost"], "max_cost is required for service_area");
    },
  },
  params: (input) => ({ max_cost: input.request.max_cost as number }),
  async rowsOf(task, i, rows, skip, room) {
    let work = 0;
    let area = task.area?.origin === i ? task.area.area : undefined;
    if (!area) {
      const searched = await serviceAreaFrom(task.cache, task.origins.refs[i]!, task.spec.max_cost!);
      work = searched.work;
      area = searched.area;
    }
    const l = task.origins.ids[i]!;
    const total = area.vertexIds.length;
    const end = Math.min(total, skip + room);
    for (let k = skip; k < end; k++) {
      // A view of the area's coordinates, not a copy per row.
      const xy = area.xy.subarray(2 * k, 2 * k + 2);
      rows.push({ l, r: area.vertexIds[k]!, g: { kind: "Point", xy }, p: { agg_cost: area.costs[k]! } });
    }
    // An area larger than the slice goes on in the next one from the same search (searched again after a crash).
    task.area = end < total ? { origin: i, area } : undefined;
    return { work, total };
  },
  schema: () => ({
    keys: ["left_id", "vertex_id"],
    columns: [{ name: "agg_cost", type: "double" }],
    geometryKinds: ["Point"],
  }),
});
