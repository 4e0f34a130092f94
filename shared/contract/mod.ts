/** The public contract (API.md) as zod schemas, limits and CRS handling. */
export * from "./common.ts";
export * from "./crs.ts";
export * from "./dataset.ts";
export * from "./geojson.ts";
export * from "./health.ts";
export * from "./job.ts";
export * from "./limits.ts";
export * from "./problem.ts";
export * from "./status.ts";
