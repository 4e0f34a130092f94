/**
 * `PUT /v1/datasets/{name}?kind=network` in real workerd: the topology's counts equal pgRouting's
 * (test/fixtures/network/meta.json), the blocks land in R2, and bad networks are 422 with nothing stored.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import {
  authHeaders,
  expectProblem,
  publish,
  readFixture,
  settledSnapshot,
  stateChanges,
  stateSnapshot,
} from "./client.ts";

const line = (id: number, coordinates: unknown, properties: Record<string, unknown> = {}) => ({
  type: "Feature",
  id,
  properties,
  geometry: { type: "LineString", coordinates },
});
const collection = (features: unknown[]) => JSON.stringify({ type: "FeatureCollection", features });

Deno.test("network publish in workerd", async (t) => {
  const service = await startService();
  try {
    await t.step("the cases network publishes with pgRouting's vertex, edge and component counts", async () => {
      const body = await readFixture("network/cases_edges.geojson");
      const response = await publish(service, "cases-net", body, { query: "classification=public&kind=network" });
      const manifest = await response.json();
      equal(response.status, 201, JSON.stringify(manifest));
      deepEqual(
        [manifest.kind, manifest.vertex_count, manifest.edge_count, manifest.component_count],
        ["network", 15, 16, 4],
      );
      ok(manifest.tiles.length >= 1 && manifest.tiles.every((t: { key: string }) => t.key.endsWith(".graph")));
      const current = await (await service.fetch("/v1/datasets/cases-net", { headers: await authHeaders() })).json();
      deepEqual([current.kind, current.vertex_count, current.versions.length], ["network", 15, 1]);
    });

    await t.step("snap_m=1 merges the 0.28 m gap: 14 vertices, 3 components", async () => {
      const body = await readFixture("network/cases_edges.geojson");
      const response = await publish(service, "cases-net-snap", body, {
        query: "classification=public&kind=network&snap_m=1",
      });
      const manifest = await response.json();
      equal(response.status, 201, JSON.stringify(manifest));
      deepEqual([manifest.vertex_count, manifest.component_count, manifest.snap_m], [14, 3, 1]);
    });

    await t.step(
      "bad networks (not LineStrings, non-numeric or null costs, empty) are 422 and store nothing",
      async () => {
        await settledSnapshot(service);
        const before = await stateSnapshot(service);
        const cases: [string, string, string[]][] = [
          [
            "a Point among the edges",
            collection([line(1, [[0, 0], [0.001, 0]]), {
              type: "Feature",
              id: 2,
              properties: {},
              geometry: { type: "Point", coordinates: [0, 0] },
            }]),
            ["features[1].geometry"],
          ],
          [
            "a MultiLineString",
            collection([{
              type: "Feature",
              id: 1,
              properties: {},
              geometry: { type: "MultiLineString", coordinates: [[[0, 0], [1, 0]], [[2, 0], [3, 0]]] },
            }]),
            ["features[0].geometry"],
          ],
          [
            "a NaN cost (as a string) and a null reverse_cost",
            collection([
              line(1, [[0, 0], [0.001, 0]], { cost: "NaN" }),
              line(2, [[0, 0], [0, 0.001]], {
                reverse_cost: null,
              }),
            ]),
            ["features[0].properties.cost", "features[1].properties.reverse_cost"],
          ],
          ["no edges", collection([]), []],
        ];
        for (const [what, body, paths] of cases) {
          const response = await publish(service, "bad-net", body, { query: "classification=public&kind=network" });
          await expectProblem(response, 422, paths).catch((e) => {
            throw new Error(`${what}: ${e.message}`);
          });
        }
        await expectProblem(
          await publish(service, "bad-net", collection([line(1, [[0, 0], [1, 0]])]), {
            query: "classification=public&kind=network&snap_m=-1",
          }),
          422,
          ["snap_m"],
        );
        deepEqual(stateChanges(before, await stateSnapshot(service)), []);
        await expectProblem(await service.fetch("/v1/datasets/bad-net", { headers: await authHeaders() }), 404);
      },
    );
  } finally {
    await service.stop();
  }
});
