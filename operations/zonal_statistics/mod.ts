/**
 * `zonal_statistics`: per left polygon, the statistics of one raster band's
 * pixels under a pixel rule (`center`, `all_touched`, `coverage`), nodata
 * left out. Polygons are planned into the H3 partitions of their tiles; a
 * pixel of a polygon is counted by one partition only (the one of the cell
 * its row run's middle lies in, among the polygon's cells; else the
 * polygon's first cell: `ownerOf` in slice.ts), each partition stages partial
 * moments, and the home folds them (`combine`, Chan et al.) into one row per
 * polygon.
 */
import { z } from "@hono/zod-openapi";
import { PropertiesSelection } from "../../shared/contract/job.ts";
import { type DatasetManifest, isRasterManifest, type RasterDatasetManifest } from "../../shared/dataset_manifest.ts";
import type { ResultRow, ZonalSpec } from "../../shared/job_spec.ts";
import { ValidationError } from "../../shared/problem.ts";
import type { Operation, OperationPlan, PlanInput, ResolvedLeft, ResultColumn } from "../operation.ts";
import { groupPartitions } from "../partition_groups.ts";
import { specForPartition } from "../vector/plan.ts";
import { PIXEL_RULES, releaseZonalJob, runZonalSlice } from "./slice.ts";
import { combineMoments, finalStatistics, type Moments, type Statistic, STATISTICS } from "./moments.ts";

const POLYGONAL = new Set(["Polygon", "MultiPolygon"]);

function rasterOf(dataset: DatasetManifest): RasterDatasetManifest {
  if (!isRasterManifest(dataset)) throw new TypeError(`Dataset "${dataset.name}" is not a raster`);
  return dataset;
}

const NO_MOMENTS: Moments = { count: 0, sum: 0, sum_c: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity };

/** A staged partial's moments (an empty partial stages only `count`: 0). */
function momentsOf(row: ResultRow): Moments {
  const p = row.p ?? {};
  return p.count ? { ...NO_MOMENTS, ...p } as Moments : NO_MOMENTS;
}

export const zonalStatistics: Operation = {
  name: "zonal_statistics",
  datasetKind: "raster",
  request: {
    fields: {
      band: z.int().min(1).openapi({ description: "zonal_statistics: 1-based band (default 1)." }),
      statistics: z.array(z.enum(STATISTICS)).min(1).openapi({
        description: "zonal_statistics: any of count, sum, mean, min, max, stddev (default all).",
      }),
      pixel_rule: z.enum(PIXEL_RULES).openapi({
        description: "zonal_statistics: center (default), all_touched or coverage.",
      }),
      // The left polygons' attributes (a raster has none: a `right` name is a 422).
      properties: PropertiesSelection,
    },
    check(_request, add, payloadTypes) {
      const other = payloadTypes?.filter((t) => !POLYGONAL.has(t)) ?? [];
      if (other.length) {
        add(["geometry_payload"], `zonal_statistics needs polygons; the payload has ${other.join(", ")}`);
      }
    },
    defaults: (request) => ({
      ...request,
      band: request.band ?? 1,
      statistics: request.statistics ?? [...STATISTICS],
      pixel_rule: request.pixel_rule ?? "center",
    }),
  },
  checkInputs(left: ResolvedLeft, _dataset: DatasetManifest, leftField: string) {
    const other = left.types.filter((t) => !POLYGONAL.has(t));
    return other.length
      ? [{ path: leftField, message: `zonal_statistics needs polygons, not ${other.join(", ")}` }]
      : [];
  },
  plan(input: PlanInput): OperationPlan {
    const raster = rasterOf(input.dataset);
    const band = input.request.band as number;
    if (band > raster.bands.length) {
      throw new ValidationError(`Band ${band} does not exist; raster "${raster.name}" has ${raster.bands.length}.`, [
        { path: "band", message: `1..${raster.bands.length}` },
      ]);
    }
    const tiles = input.left.side.tiles;
    const cells = Object.keys(tiles).sort();
    const { partitions, members } = groupPartitions(cells, (cell) => tiles[cell]?.bytes ?? 0, input.groupBytes);
    const requested = new Set(input.request.statistics as Statistic[]);
    const zonal: ZonalSpec = {
      raster: {
        key: raster.key,
        bytes: raster.bytes,
        width: raster.width,
        height: raster.height,
        crs: raster.crs,
        geotransform: raster.geotransform,
        block_size: raster.block_size,
        layout: raster.layout,
        bands: raster.bands,
      },
      band,
      statistics: STATISTICS.filter((s) => requested.has(s)),
      pixel_rule: input.request.pixel_rule as ZonalSpec["pixel_rule"],
    };
    return {
      right: {
        kind: "dataset",
        name: raster.name,
        version: raster.version,
        classification: raster.classification,
        tiles: {},
      },
      partitions,
      members,
      params: { zonal },
    };
  },
  specForPartition,
  runSlice: runZonalSlice,
  releaseJob: releaseZonalJob,
  approximates: false,
  schema(spec) {
    const columns: ResultColumn[] = (spec.zonal?.statistics ?? STATISTICS).map((name) => ({
      name,
      type: name === "count" ? "double" : "double?",
    }));
    return { keys: ["left_id"], columns, ...(spec.properties?.length ? { attributes: spec.properties } : {}) };
  },
  combine(a, b) {
    const m = combineMoments(momentsOf(a), momentsOf(b));
    return { ...a, p: m.count ? { ...m } : { count: 0 } };
  },
  finalize(row) {
    const stats = finalStatistics(momentsOf(row));
    const p: Record<string, number> = {};
    for (const name of STATISTICS) p[name] = stats[name] ?? NaN;
    return { ...row, p };
  },
};
