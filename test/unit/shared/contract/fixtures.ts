/** A valid job request body for tests; `overrides` replace (or, with undefined, remove) fields. */
export const KEY = "9b2f4c3e-1d2a-4b7c-8e9f-0a1b2c3d4e5f";
export const square = (x = 0, y = 0, d = 1) => [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]];

export function validJob(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const job: Record<string, unknown> = {
    job_idempotency_key: KEY,
    spatial_operation: "polygon_intersection",
    dataset: "us-counties",
    geometry_payload: {
      type: "FeatureCollection",
      features: [
        { type: "Feature", id: "a", properties: {}, geometry: { type: "Polygon", coordinates: square() } },
        { type: "Feature", properties: { id: 7 }, geometry: { type: "MultiPolygon", coordinates: [square(5, 5)] } },
      ],
    },
    ...overrides,
  };
  for (const [k, v] of Object.entries(job)) if (v === undefined) delete job[k];
  return job;
}
