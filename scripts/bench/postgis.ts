/**
 * The PostGIS side of the end-to-end benchmark: the same features loaded into
 * a throwaway cluster (scripts/fixtures/pg_cluster.ts) with GiST indexes, and
 * each join materialized with `CREATE TABLE … AS SELECT … ORDER BY left_id,
 * right_id` (like the service's commit), timed inside the server with
 * `clock_timestamp()`, once single-threaded and once with default parallelism.
 */
import { ensureAptPackages, type PgCluster, POSTGIS_PACKAGE, startCluster } from "../fixtures/pg_cluster.ts";
import type { Feature } from "./datasets.ts";

export interface PgRun {
  seconds: number;
  pairs: number;
  area: number;
  areaM2: number;
}

export interface PostGis {
  readonly version: string;
  /** Loads `features` into table `name` (id, g geometry(4326)); `repair` = ST_CollectionExtract(ST_MakeValid(g), 3), empties dropped. */
  load(
    name: string,
    features: readonly Feature[],
    options?: { repair?: boolean; idType?: "text" | "bigint" },
  ): Promise<number>;
  /** Point-in-polygon pairs of `polygons` × `points` (ST_Intersects), materialized into `out`. */
  pointInPolygon(out: string, polygons: string, points: string, parallel: boolean): Promise<PgRun>;
  /** Intersection pieces of area > 0 with planar and geodesic areas, materialized into `out`. */
  polygonIntersection(out: string, left: string, right: string, parallel: boolean): Promise<PgRun>;
  /** Pairs whose bboxes overlap (`&&`): the candidates PostGIS's exact test runs on (untimed). */
  candidates(left: string, right: string): Promise<number>;
  /** `left_id|right_id` of every row of `out`. */
  keys(out: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startPostGis(): Promise<PostGis> {
  await ensureAptPackages([POSTGIS_PACKAGE]);
  const pg: PgCluster = await startCluster();
  const version = (await pg.query("CREATE EXTENSION postgis; SELECT postgis_full_version();")).trim();
  await pg.query(
    "ALTER SYSTEM SET work_mem = '256MB'; ALTER SYSTEM SET maintenance_work_mem = '512MB'; SELECT pg_reload_conf();",
  );
  const tmp = await Deno.makeTempDir({ prefix: "spatial-jobs-bench-pg-" });

  async function timed(setup: string, statement: string, out: string, parallel: boolean): Promise<PgRun> {
    const sql = `
      SET max_parallel_workers_per_gather = ${parallel ? "DEFAULT" : "0"};
      DROP TABLE IF EXISTS ${out};
      ${setup}
      SELECT clock_timestamp() AS t0 \\gset
      ${statement};
      SELECT json_build_object(
        'seconds', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz),
        'pairs', (SELECT count(*) FROM ${out}),
        'area', (SELECT coalesce(sum(area), 0) FROM ${out}),
        'area_m2', (SELECT coalesce(sum(area_m2), 0) FROM ${out}));`;
    const text = (await pg.query(sql)).trim().split("\n").at(-1)!;
    const r = JSON.parse(text) as { seconds: number; pairs: number; area: number; area_m2: number };
    return { seconds: r.seconds, pairs: r.pairs, area: r.area, areaM2: r.area_m2 };
  }

  return {
    version,
    async load(name, features, options = {}) {
      const file = `${tmp}/${name}.tsv`;
      const lines = features.map((f) => `${f.id}\t${JSON.stringify(f.geometry)}`);
      await Deno.writeTextFile(file, lines.join("\n") + "\n");
      lines.length = 0;
      const idType = options.idType ?? "text";
      const geom = options.repair
        ? "CASE WHEN ST_IsValid(g) THEN g ELSE ST_CollectionExtract(ST_MakeValid(g), 3) END"
        : "g";
      const out = await pg.query(`
        DROP TABLE IF EXISTS ${name}_raw, ${name};
        CREATE UNLOGGED TABLE ${name}_raw (id ${idType}, gj text);
        \\copy ${name}_raw FROM '${file}'
        CREATE TABLE ${name} AS
          SELECT id, ${geom} AS g FROM (SELECT id, ST_SetSRID(ST_GeomFromGeoJSON(gj), 4326) AS g FROM ${name}_raw) s;
        DELETE FROM ${name} WHERE ST_IsEmpty(g);
        DROP TABLE ${name}_raw;
        CREATE INDEX ON ${name} USING gist (g);
        ANALYZE ${name};
        SELECT count(*) FROM ${name};`);
      await Deno.remove(file);
      return Number(out.trim().split("\n").at(-1));
    },
    pointInPolygon(out, polygons, points, parallel) {
      return timed(
        "",
        `CREATE TABLE ${out} AS
           SELECT a.id AS left_id, b.id AS right_id, b.g AS geom, 0::float8 AS area, 0::float8 AS area_m2
           FROM ${polygons} a JOIN ${points} b ON ST_Intersects(a.g, b.g)
           ORDER BY a.id, b.id`,
        out,
        parallel,
      );
    },
    polygonIntersection(out, left, right, parallel) {
      return timed(
        "",
        `CREATE TABLE ${out} AS
           SELECT left_id, right_id, geom, ST_Area(geom) AS area, ST_Area(geom::geography) AS area_m2
           FROM (SELECT a.id AS left_id, b.id AS right_id, ST_Intersection(a.g, b.g) AS geom
                 FROM ${left} a JOIN ${right} b ON ST_Intersects(a.g, b.g)) s
           WHERE ST_Area(geom) > 0
           ORDER BY left_id, right_id`,
        out,
        parallel,
      );
    },
    async candidates(left, right) {
      const text = await pg.query(`SELECT count(*) FROM ${left} a JOIN ${right} b ON a.g && b.g;`);
      return Number(text.trim().split("\n").at(-1));
    },
    async keys(out) {
      const text = await pg.query(`SELECT left_id || '|' || right_id FROM ${out};`);
      return text.split("\n").filter((l) => l.length > 0);
    },
    async stop() {
      await pg.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    },
  };
}
