/**
 * Writes the files the Worker serves under /static/ (wrangler.toml `[assets]`, directory `public/`) for the OGC
 * API's HTML pages, so the job map works with no network beyond this service:
 * - MapLibre GL JS (its ES module, worker and stylesheet) and FlatGeobuf's browser build, from their npm packages;
 * - the job page's script (static/job_page.js);
 * - Swagger UI (its bundle and stylesheet, from swagger-ui-dist) and its start script (static/docs_page.js) for /docs;
 * - `basemap/countries.geojson` and `basemap/states.geojson`: country and US-state outlines (shared borders drawn
 *   once) from the world-atlas and us-atlas TopoJSON the service already ships.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import countries50m from "world-atlas/countries-50m.json" with { type: "json" };
import states10m from "us-atlas/states-10m.json" with { type: "json" };
// @ts-types="./fixtures/topojson_client.d.ts"
import { mesh } from "topojson-client";

const OUT_DIR = fileURLToPath(new URL("../public/static/", import.meta.url));

const packageDir = (specifier: string) => dirname(fileURLToPath(import.meta.resolve(specifier)));
const maplibre = join(packageDir("maplibre-gl/package.json"), "dist");
const flatgeobuf = join(packageDir("flatgeobuf/package.json"), "dist");
const swaggerUi = packageDir("swagger-ui-dist/package.json");

const copies: [string, string][] = [
  [join(maplibre, "maplibre-gl.mjs"), "maplibre-gl.mjs"],
  [join(maplibre, "maplibre-gl-worker.mjs"), "maplibre-gl-worker.mjs"],
  [join(maplibre, "maplibre-gl.css"), "maplibre-gl.css"],
  [join(flatgeobuf, "flatgeobuf-geojson.min.js"), "flatgeobuf-geojson.min.js"],
  [fileURLToPath(new URL("../static/job_page.js", import.meta.url)), "job_page.js"],
  [join(swaggerUi, "swagger-ui-bundle.js"), "swagger-ui/swagger-ui-bundle.js"],
  [join(swaggerUi, "swagger-ui.css"), "swagger-ui/swagger-ui.css"],
  [fileURLToPath(new URL("../static/docs_page.js", import.meta.url)), "docs_page.js"],
];

await Deno.mkdir(join(OUT_DIR, "basemap"), { recursive: true });
await Deno.mkdir(join(OUT_DIR, "swagger-ui"), { recursive: true });
for (const [from, to] of copies) await Deno.copyFile(from, join(OUT_DIR, to));

// deno-lint-ignore no-explicit-any -- TopoJSON topologies are untyped JSON here
const outline = (topology: any, object: string) => ({
  type: "FeatureCollection",
  features: [{ type: "Feature", properties: {}, geometry: mesh(topology, topology.objects[object]) }],
});
await Deno.writeTextFile(
  join(OUT_DIR, "basemap/countries.geojson"),
  JSON.stringify(outline(countries50m, "countries")),
);
await Deno.writeTextFile(join(OUT_DIR, "basemap/states.geojson"), JSON.stringify(outline(states10m, "states")));
console.log(`static: map page assets in ${OUT_DIR}`);
