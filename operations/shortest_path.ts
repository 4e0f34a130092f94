/**
 * `shortest_path`: for each origin (left points) and destination (`destinations_payload`, `destinations_dataset`,
 * or the origins themselves), snapped to their nearest vertices, the least cost of travelling the network from one
 * to the other, as pgRouting's `pgr_dijkstraCost(edges, origins, destinations, directed := true)`; unreachable pairs
 * and pairs on the same vertex have no row. The geometry is the path's line (`path_geometry: false`: none).
 */
import { z } from "@hono/zod-openapi";
import { DatasetName } from "../shared/contract/common.ts";
import { checkFeatureCollection, FeatureCollection, toFlatFeatures } from "../shared/contract/geojson.ts";
import { PAYLOAD_LIMITS } from "../shared/contract/limits.ts";
import type { SupportedCrs } from "../shared/contract/crs.ts";
import { datasetKind, isRasterManifest } from "../shared/dataset_manifest.ts";
import { type DestinationsSide, type JobSpec, pinnedDatasetSide } from "../shared/job_spec.ts";
import { ValidationError } from "../shared/problem.ts";
import type { FlatGeometry } from "../wasm/flat_geometry.ts";
import type { PlanInput } from "./operation.ts";
import { networkOperation } from "./network/network_operation.ts";
import { shortestPathsFrom } from "./network/traverse.ts";

const NO_LINE: FlatGeometry = { kind: "LineString", xy: new Float64Array(0) };

export const shortestPath = networkOperation({
  name: "shortest_path",
  request: {
    fields: {
      destinations_payload: FeatureCollection.openapi({
        description: "shortest_path: destination points (ids as a payload's); default: the origins themselves.",
      }),
      destinations_dataset: DatasetName.openapi({
        description: "shortest_path: a published dataset of destination points, instead of destinations_payload.",
      }),
      path_geometry: z.boolean().openapi({
        description: "shortest_path: false leaves the path line out (geometry null); default true.",
      }),
    },
    check(request, add, payloadTypes) {
      if (payloadTypes && payloadTypes.some((t) => t !== "Point")) {
        add(["geometry_payload"], `shortest_path needs points as origins; geometry_payload has ${payloadTypes}`);
      }
      if (request.destinations_payload !== undefined && request.destinations_dataset !== undefined) {
        add(["destinations_dataset"], "give either destinations_payload or destinations_dataset, not both");
      }
      const parsed = FeatureCollection.safeParse(request.destinations_payload);
      if (!parsed.success) return;
      const crs = (request.input_crs ?? "EPSG:4326") as SupportedCrs;
      const summary = checkFeatureCollection(parsed.data, crs, PAYLOAD_LIMITS, ["destinations_payload"], add);
      const types = [...summary.geometryTypes];
      if (types.some((t) => t !== "Point")) {
        add(["destinations_payload"], `destinations must be points; destinations_payload has ${types.join(", ")}`);
      }
    },
  },
  pins: ["destinations_dataset"],
  params: (input) => ({
    path_geometry: input.request.path_geometry !== false,
    destinations: destinationsOf(input),
  }),
  async rowsOf(task, i, rows, skip, room) {
    const destinations = task.destinations!;
    const origin = task.origins.refs[i]!;
    const withLine = task.spec.path_geometry !== false;
    const { reached, work } = await shortestPathsFrom(task.cache, origin, [...new Set(destinations.refs)], withLine);
    const l = task.origins.ids[i]!;
    const start = task.origins.vertexIds[i]!;
    let total = 0;
    for (let j = 0; j < destinations.ids.length; j++) {
      const path = reached.get(destinations.refs[j]!);
      if (!path || total++ < skip || total > skip + room) continue;
      rows.push({
        l,
        r: destinations.ids[j]!,
        g: path.line ? { kind: "LineString", xy: path.line } : NO_LINE,
        p: { cost: path.cost, start_vid: start, end_vid: destinations.vertexIds[j]! },
      });
    }
    return { work, total };
  },
  schema: (spec: JobSpec) => ({
    keys: ["left_id", "right_id"],
    columns: [{ name: "cost", type: "double" }, { name: "start_vid", type: "long" }, { name: "end_vid", type: "long" }],
    geometryKinds: ["LineString"],
    ...(spec.path_geometry === false ? { withoutGeometry: true } : {}),
  }),
});

/** The destinations the spec records: the request's points, a pinned dataset of points, or the origins' side. */
function destinationsOf({ request, left, pinned }: PlanInput): DestinationsSide {
  const dataset = pinned?.destinations_dataset;
  if (dataset) {
    if (
      isRasterManifest(dataset) || datasetKind(dataset) !== "vector" ||
      dataset.geometry_types.some((t) => t !== "Point")
    ) {
      throw new ValidationError("The destinations are not points.", [{
        path: "destinations_dataset",
        message: `dataset "${dataset.name}" holds ${
          isRasterManifest(dataset) ? "a raster" : dataset.geometry_types.join(", ") || "nothing"
        }, not points`,
      }]);
    }
    return pinnedDatasetSide(dataset);
  }
  if (request.destinations_payload !== undefined) {
    const features = toFlatFeatures(
      request.destinations_payload as FeatureCollection,
      request.input_crs as SupportedCrs,
    );
    return {
      kind: "points",
      ids: features.map((f) => f.id),
      xy: features.flatMap((f) => [f.geometry.xy[0]!, f.geometry.xy[1]!]),
    };
  }
  return left.side;
}
