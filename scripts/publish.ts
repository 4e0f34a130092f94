/**
 * `deno task publish <file> --name <dataset>`: publishes a local GeoJSON
 * FeatureCollection (`.geojson`, `.json`), FlatGeobuf file (`.fgb`), zipped Shapefile (`.zip`), CSV (`.csv`) or
 * GeoPackage (`.gpkg`: converted here to GeoJSON, see scripts/lib/geopackage.ts) to a
 * running spatial-jobs service with `PUT /v1/datasets/{name}`, showing upload
 * progress, then prints the new version's manifest summary. A file over one
 * request's limits (64 MiB, or 250,000 GeoJSON features), or any file with
 * `--parts N`, goes through the multipart extension: split into parts (GeoJSON
 * by features, FlatGeobuf by feature ranges), each PUT as a part, then the
 * upload is completed and polled until the version is published. A problem answer
 * (any non-2xx) is printed and the command exits with status 1.
 *
 * @example
 * ```sh
 * deno task publish counties.geojson --name us-counties --repair --classification public
 * deno task publish parcels.fgb --name parcels --url https://spatial-jobs.example.workers.dev --token "$TOKEN"
 * ```
 */
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { devToken } from "./lib/dev_token.ts";
import { readGeoPackage } from "./lib/geopackage.ts";
import {
  type DatasetMediaType,
  fitsOneRequest,
  mediaTypeForFile,
  publishDataset,
  publishMultipart,
  splitFlatGeobuf,
  splitGeoJson,
} from "./bench/upload.ts";

const HELP = `Usage: deno task publish <file> --name <dataset> [options]

Publishes a GeoJSON FeatureCollection (.geojson, .json), a FlatGeobuf file (.fgb), a zipped
Shapefile (.zip), a CSV with a WKT or lon/lat columns (.csv) or a GeoPackage layer (.gpkg, converted
to GeoJSON here, its srs giving --crs) as a new version of dataset <name> (PUT /v1/datasets/{name})
and prints its manifest.

Options:
  --name <dataset>            dataset name (required; [A-Za-z0-9._-], up to 128 characters)
  --url <base>                service URL (default http://127.0.0.1:8787)
  --token <jwt>               bearer token (default: $SPATIAL_JOBS_TOKEN, else a dev token, see below)
  --claims-from-dev-secret    mint a dev HS256 token from JWT_SECRET in .dev.vars (or .dev.vars.example
                              when .dev.vars is missing); this is what happens when no token is given.
                              Only a local service (or one deployed with that secret) accepts it.
  --domain <domain>           owning domain in a minted dev token (default geo)
  --sub <id>                  caller id in a minted dev token (default publisher)
  --repair                    make invalid geometries valid (ST_MakeValid) instead of a 422
  --crs <EPSG:n>              coordinates' CRS, any EPSG code (default EPSG:4326; a FlatGeobuf header,
                              a Shapefile's .prj or a GeoPackage's srs wins)
  --layer <name>              .gpkg: the feature table (default: the only one)
  --classification <tier>     public | internal | confidential | restricted
                              (omitted: the current version's tier, or internal for a new dataset)
  --content-type <type>       override the type guessed from the extension
                              (application/geo+json, application/flatgeobuf, application/zip, text/csv)
  --parts <n>                 send the file as n parts through POST /v1/datasets/{name}/uploads
                              (default: one PUT when the file fits one request, else as many parts as needed)
  --json                      print the whole manifest as JSON instead of a summary
  --no-progress               no progress bar
  -h, --help                  this help

Exit status: 0 published, 1 the service answered with an error, 2 bad usage or unreadable file.`;

const MEDIA_TYPES: readonly string[] = [
  "application/geo+json",
  "application/flatgeobuf",
  "application/zip",
  "text/csv",
];

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    name: { type: "string" },
    url: { type: "string", default: "http://127.0.0.1:8787" },
    token: { type: "string" },
    "claims-from-dev-secret": { type: "boolean", default: false },
    domain: { type: "string", default: "geo" },
    sub: { type: "string", default: "publisher" },
    repair: { type: "boolean", default: false },
    crs: { type: "string" },
    layer: { type: "string" },
    classification: { type: "string" },
    "content-type": { type: "string" },
    json: { type: "boolean", default: false },
    parts: { type: "string" },
    "no-progress": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

function usage(message: string): never {
  console.error(`${message}\n\n${HELP}`);
  Deno.exit(2);
}

if (values.help) {
  console.log(HELP);
  Deno.exit(0);
}
const file = positionals[0];
if (!file || positionals.length > 1) usage("Give exactly one file to publish.");
if (!values.name) usage("--name is required.");
if (values.token && values["claims-from-dev-secret"]) usage("Give --token or --claims-from-dev-secret, not both.");
const isGeoPackage = values["content-type"] === undefined && file.toLowerCase().endsWith(".gpkg");
const contentType = isGeoPackage
  ? "application/geo+json"
  : (values["content-type"] ?? mediaTypeForFile(file)) as DatasetMediaType | null;
if (!contentType || !MEDIA_TYPES.includes(contentType)) {
  usage(
    `Cannot tell the format of "${file}": name it .geojson, .json, .fgb, .zip, .csv or .gpkg, or pass --content-type.`,
  );
}

let body: Uint8Array;
try {
  if (isGeoPackage) {
    const layer = readGeoPackage(file, values.layer);
    if (layer.crs) values.crs = layer.crs;
    body = new TextEncoder().encode(JSON.stringify(layer.featureCollection));
  } else body = await Deno.readFile(file);
} catch (error) {
  console.error(`Cannot read "${file}": ${error instanceof Error ? error.message : error}`);
  Deno.exit(2);
}

const partCount = values.parts === undefined ? undefined : Number(values.parts);
if (partCount !== undefined && !(Number.isInteger(partCount) && partCount >= 1 && partCount <= 10_000)) {
  usage("--parts must be an integer from 1 to 10000.");
}
let parts: Uint8Array[] | undefined;
if (partCount !== undefined || !fitsOneRequest(body, contentType)) {
  try {
    if (contentType === "application/zip" || contentType === "text/csv") {
      throw new Error("a .zip or .csv goes in one request (convert it to FlatGeobuf with ogr2ogr to send parts)");
    }
    parts = contentType === "application/flatgeobuf"
      ? splitFlatGeobuf(body, partCount)
      : splitGeoJson(body, partCount ? { count: partCount } : {});
  } catch (error) {
    console.error(`Cannot split "${file}" into parts: ${error instanceof Error ? error.message : error}`);
    Deno.exit(2);
  }
  console.error(`Sending ${parts.length} part(s) through a multipart upload.`);
}
const totalBytes = parts ? parts.reduce((n, p) => n + p.byteLength, 0) : body.byteLength;

let token = values.token ?? Deno.env.get("SPATIAL_JOBS_TOKEN");
if (!token || values["claims-from-dev-secret"]) {
  try {
    token = await devToken({ sub: values.sub, domain: values.domain });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(2);
  }
  console.error(`Using a dev token (sub=${values.sub}, domain=${values.domain}) signed with the local JWT_SECRET.`);
}

const showProgress = !values["no-progress"] && Deno.stderr.isTerminal();
const bar = new cliProgress.SingleBar({
  format: "upload [{bar}] {percentage}% | {value_mib}/{total_mib} MiB | {duration_formatted}",
  hideCursor: true,
  stream: process.stderr,
}, cliProgress.Presets.shades_classic);
const mib = (n: number) => (n / 2 ** 20).toFixed(1);
if (showProgress) bar.start(totalBytes, 0, { value_mib: mib(0), total_mib: mib(totalBytes) });

let outcome;
try {
  const common = {
    url: values.url,
    name: values.name,
    token,
    repair: values.repair,
    ...(values.crs ? { crs: values.crs } : {}),
    ...(values.classification ? { classification: values.classification } : {}),
    onProgress: (sent: number) => showProgress && bar.update(sent, { value_mib: mib(sent) }),
  };
  outcome = parts
    ? await publishMultipart({
      ...common,
      parts: parts.map((p) => ({ body: p, contentType })),
      onStep: (step) => !showProgress && console.error(step),
    })
    : await publishDataset({ ...common, body, contentType });
} catch (error) {
  if (showProgress) bar.stop();
  console.error(`Cannot reach ${values.url}: ${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
}
if (showProgress) {
  bar.update(totalBytes, { value_mib: mib(totalBytes) });
  bar.stop();
}
if (!showProgress) {
  console.error(`Uploaded ${mib(totalBytes)} MiB; the service answered in ${(outcome.ms / 1000).toFixed(1)} s.`);
}

if (!outcome.ok) {
  const problem = outcome.body as Record<string, unknown> | string;
  console.error(`Publish failed: HTTP ${outcome.status}`);
  if (typeof problem === "string") console.error(problem.slice(0, 2000));
  else {
    console.error(`${problem.title ?? ""}${problem.detail ? `: ${problem.detail}` : ""}`);
    const errors = Array.isArray(problem.errors) ? problem.errors as { path: string; message: string }[] : [];
    for (const e of errors.slice(0, 20)) console.error(`  ${e.path}: ${e.message}`);
    if (errors.length > 20) console.error(`  … ${errors.length - 20} more`);
    if (problem.trace_id) console.error(`trace_id ${problem.trace_id}`);
  }
  Deno.exit(1);
}

const manifest = outcome.body as Record<string, unknown> & { tiles?: unknown[] };
if (values.json) console.log(JSON.stringify(manifest, null, 2));
else {
  const rows: [string, unknown][] = [
    ["name", manifest.name],
    ["version", manifest.version],
    ["owner_domain", manifest.owner_domain],
    ["classification", manifest.classification],
    ["feature_count", manifest.feature_count],
    ["repaired_count", manifest.repaired_count ?? 0],
    ["geometry_types", (manifest.geometry_types as string[] | undefined)?.join(", ")],
    ["bbox", JSON.stringify(manifest.bbox)],
    ["tiles", manifest.tiles?.length ?? 0],
    ["etag", manifest.etag],
    ["seconds", (outcome.ms / 1000).toFixed(2)],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(15)} ${v}`);
}
