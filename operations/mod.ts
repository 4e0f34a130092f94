/**
 * The operations the service runs: one module each, one line each here.
 * Routes, planning, the executor and the commit find an operation by name.
 */
import type { Operation } from "./operation.ts";
import { pointInPolygon } from "./point_in_polygon.ts";
import { polygonIntersection } from "./polygon_intersection.ts";
import { spatialJoin } from "./spatial_join.ts";
import { zonalStatistics } from "./zonal_statistics/mod.ts";
import { shortestPath } from "./shortest_path.ts";
import { serviceArea } from "./service_area.ts";

export const OPERATIONS: Readonly<Record<string, Operation>> = Object.fromEntries(
  [polygonIntersection, pointInPolygon, spatialJoin, zonalStatistics, shortestPath, serviceArea].map((
    operation,
  ) => [operation.name, operation]),
);

/** The operation of that name, or undefined for a name the service does not run. */
export function operationOf(name: string): Operation | undefined {
  return Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
}

export type { Operation } from "./operation.ts";
