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
    let settled = task.area?.origin === i ? task.area.settled : undefined;
    if (!settled) {
      const area = await serviceAreaFrom(task.cache, task.origins.refs[i]!, task.spec.max_cost!);
      work = area.work;
      settled = area.settled.sort((a, b) => a.vertexId - b.vertexId);
    }
    const l = task.origins.ids[i]!;
    const end = Math.min(settled.length, skip + room);
    for (let k = skip; k < end; k++) {
      const v = settled[k]!;
      rows.push({ l, r: v.vertexId, g: { kind: "Point", xy: Float64Array.of(v.x, v.y) }, p: { agg_cost: v.cost } });
    }
    // An area larger than the slice goes on in the next one from the same search (searched again after a crash).
    task.area = end < settled.length ? { origin: i, settled } : undefined;
    return { work, total: settled.length };
  },
  schema: () => ({
    keys: ["left_id", "vertex_id"],
    columns: [{ name: "agg_cost", type: "double" }],
    geometryKinds: ["Point"],
  }),
});
