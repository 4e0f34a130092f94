/** /openapi.json describes the network additions as the service answers them. */
import { deepEqual, ok } from "node:assert/strict";
import { TEST_ENV } from "./auth/test_tokens.ts";
import { recordingApp } from "./app_harness.ts";

Deno.test("GET /openapi.json lists kind/snap_m on PUT, the network manifest fields and the network job fields", async () => {
  const { app } = recordingApp();
  const doc = await (await app.request("/openapi.json", {}, TEST_ENV)).json();
  const put = doc.paths["/v1/datasets/{name}"].put;
  const params = put.parameters.map((p: { name: string }) => p.name);
  ok(params.includes("kind") && params.includes("snap_m"), `PUT parameters: ${params}`);
  // DatasetManifest is a union of the raster manifest and the vector one (which network manifests are).
  const manifest = doc.components.schemas.VectorDatasetManifest.properties;
  for (const field of ["kind", "vertex_count", "edge_count", "component_count", "snap_m"]) {
    ok(manifest[field], `VectorDatasetManifest.${field}`);
  }
  const operations = doc.components.schemas.SpatialOperation.enum;
  ok(operations.includes("shortest_path") && operations.includes("service_area"), `operations: ${operations}`);
  const request = doc.components.schemas.JobRequest.properties;
  deepEqual(
    ["destinations_payload", "destinations_dataset", "path_geometry", "max_cost"].filter((f) => !request[f]),
    [],
    "every network job field is in JobRequest",
  );
});
