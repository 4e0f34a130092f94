/**
 * The fuzzer's case generator, seeded: hostile requests of every kind, and
 * structure-aware mutations of real data: us-atlas counties (GeoJSON) mutated
 * at the JSON-structure level, GDAL-written FlatGeobuf mutated at the byte
 * level (header, index, feature tables), and job bodies over both. The same
 * seed gives the same cases (idempotency keys and names included).
 *
 * Used by test/workerd/fuzz_test.ts (the test command), test/unit/src/fuzz_test.ts
 * (the app in process) and scripts/fuzz.ts (`deno task fuzz --cases N --seed S`).
 *
 * @module
 */
import { feature } from "topojson-client";
import counties10m from "us-atlas/counties-10m.json" with { type: "json" };
import { readLayout } from "../../shared/tiles/fgb_header.ts";
import { seededRandom } from "./seeded_random.ts";
import { zipSync } from "fflate";

/** One request to send. `target` says what it would create if accepted (checked afterwards). */
export interface FuzzCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  target?: { dataset: string } | { jobKey: string };
}

/** What the generator needs: tokens and the real data to mutate. */
export interface FuzzInputs {
  /** A caller with every scope and tier (submits jobs). */
  token: string;
  /** The publisher of the datasets the fuzzer creates. */
  owner: string;
  /** GDAL-written FlatGeobuf files (test/fixtures/gdal); the last, a large one, is picked less often. */
  flatgeobufs: Uint8Array[];
  /** GDAL-written seeds of the other vector formats (test/fixtures/gdal: {@link readVectorSeeds}). */
  vectorSeeds?: VectorSeeds;
}

/** A Shapefile's files by name, a CSV with a WKT column, and a GeoPackage, each of a few counties. */
export interface VectorSeeds {
  shapefile: Record<string, Uint8Array>;
  csv: string;
  geopackage: Uint8Array;
}

/** The vector seeds `scripts/fixtures/gdal_fgb.sh` wrote into `dir` (test/fixtures/gdal/). */
export async function readVectorSeeds(dir: URL): Promise<VectorSeeds> {
  const shapefile: Record<string, Uint8Array> = {};
  for (const ext of ["shp", "shx", "dbf", "prj", "cpg"]) {
    shapefile[`fuzz_counties.${ext}`] = await Deno.readFile(new URL(`fuzz_counties_shp/fuzz_counties.${ext}`, dir));
  }
  return {
    shapefile,
    csv: await Deno.readTextFile(new URL("fuzz_counties.csv", dir)),
    geopackage: await Deno.readFile(new URL("fuzz_counties.gpkg", dir)),
  };
}

/** Published before the run: polygons and points the job cases read. */
export const FUZZ_DATASETS = { zones: "fuzz-zones", points: "fuzz-points" } as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type CountyFeature = { type: "Feature"; id: string; properties: Record<string, Json>; geometry: Json };

/** us-atlas counties-10m as GeoJSON features (3,231), smallest first (small bodies). */
export function usAtlasCounties(): CountyFeature[] {
  // deno-lint-ignore no-explicit-any -- topojson-client ships no types here
  const topology = counties10m as any;
  const fc = feature(topology, topology.objects.counties) as unknown as { features: CountyFeature[] };
  const size = (f: CountyFeature) => JSON.stringify(f.geometry).length;
  return fc.features.filter((f) => f.id !== undefined).sort((a, b) => size(a) - size(b));
}

/** Valid counties (simple shapes) for the fuzzer's own datasets and payloads: the 400 smallest. */
export function seedCounties(all = usAtlasCounties()): CountyFeature[] {
  return all.slice(0, 400);
}

const enc = new TextEncoder();
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

/** Values that break a JSON field in a different way each. */
const ODD_VALUES: Json[] = [
  null,
  true,
  0,
  -0,
  -1,
  1.5,
  181,
  -181,
  91,
  200,
  1e308,
  -1e308,
  5e-324,
  "",
  "x",
  "NaN",
  "Infinity",
  "𝕏",
  "a".repeat(300),
  [],
  [[]],
  [[[]]],
  [0],
  [0, 0, 0, 0],
  ["0", "0"],
  [null, null],
  {},
  { type: "Point" },
  { type: "Point", coordinates: [] },
  { type: "GeometryCollection", geometries: [] },
  { type: "Feature" },
];

const ODD_KEYS = ["_cells", "id", "__proto__", "constructor", "type", "bbox", "crs", "properties", "_id", "geometry"];

/**
 * Structure-aware JSON mutation: a random walk from the root picks a node, then one operation changes
 * it (replace with an odd value, delete, duplicate, truncate or empty an array, add an odd key, perturb a
 * number, wrap, change a position's arity). Applied `count` times.
 */
export function mutateJson(root: Json, rand: () => number, count: number): Json {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let doc = clone(root);
  for (let m = 0; m < count; m++) {
    // A random walk from the root to a leaf, then one node on it, every depth as likely (a ring as often as a
    // number in it).
    const walk: { parent: Json[] | { [key: string]: Json } | null; key: string | number; node: Json }[] = [
      { parent: null, key: "", node: doc },
    ];
    for (let node: Json = doc;;) {
      if (Array.isArray(node) && node.length > 0) {
        const key = Math.floor(rand() * node.length);
        walk.push({ parent: node, key, node: node[key]! });
        node = node[key]!;
      } else if (node !== null && typeof node === "object" && Object.keys(node).length > 0) {
        const object = node as { [key: string]: Json };
        const key = pick(Object.keys(object));
        walk.push({ parent: object, key, node: object[key]! });
        node = object[key]!;
      } else break;
    }
    const { parent, key, node } = pick(walk);
    const set = (value: Json) => {
      if (parent === null) doc = value;
      else (parent as Record<string | number, Json>)[key] = value;
    };
    const op = Math.floor(rand() * 11);
    if (op === 0) set(clone(pick(ODD_VALUES)));
    else if (op === 1 && parent !== null) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (op === 2 && Array.isArray(node) && node.length > 0) node.push(clone(pick(node)));
    else if (op === 3 && Array.isArray(node)) node.length = Math.min(node.length, Math.floor(rand() * 4));
    else if (op === 4 && node !== null && typeof node === "object" && !Array.isArray(node)) {
      node[pick(ODD_KEYS)] = clone(pick(ODD_VALUES));
    } else if (op === 5 && typeof node === "number") {
      set(pick([node + 360, -node, node * 1e10, node + 1e-9, Math.round(node)]));
    } else if (op === 6) set([clone(node)]);
    else if (op === 7 && Array.isArray(node) && node.every((v) => typeof v === "number")) {
      // A position of another arity.
      set(pick([[], [node[0] ?? 0], [...node, 0, 0], node.slice(0, 1)]));
    } else if (op >= 9 && Array.isArray(node)) {
      // Degenerate arrays: this one emptied, or one of its members (an empty ring, an empty position).
      if (op === 9 || node.length === 0) set([]);
      else node[Math.floor(rand() * node.length)] = [];
    } else set(clone(pick(ODD_VALUES)));
  }
  return doc;
}

/**
 * One degenerate coordinate array in an otherwise valid collection: inside a random feature's
 * `coordinates`, an array emptied (an empty ring, line or position) or a position given another arity.
 */
export function degenerateCoordinates(fc: { features: Record<string, Json>[] }, rand: () => number): void {
  const feature = fc.features[Math.floor(rand() * fc.features.length)];
  const geometry = feature?.geometry as { coordinates?: Json } | null | undefined;
  if (!geometry || !Array.isArray(geometry.coordinates)) return;
  let node: Json[] = geometry.coordinates;
  const arrays: Json[][] = [node];
  while (Array.isArray(node[0]) && rand() > 0.15) {
    node = node[Math.floor(rand() * node.length)] as Json[];
    arrays.push(node);
  }
  const target = arrays[Math.floor(rand() * arrays.length)]!;
  if (typeof target[0] === "number") {
    target.splice(0, target.length, ...[[], [0], [0, 0, 0, 0]][Math.floor(rand() * 3)]!);
  } else if (rand() < 0.5) target.length = 0;
  else target[Math.floor(rand() * target.length)] = [];
}

/**
 * Mutations a valid collection likely survives, so they reach publishing and execution: odd (still
 * valid) ids, properties named like internal fields, deep or odd property values, coordinates moved
 * to the edges of the range.
 */
export function oddButValid(fc: { features: Record<string, Json>[] }, rand: () => number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  fc.features.forEach((f, i) => {
    if (rand() < 0.5) f.id = pick([i, -i - 1, i + 0.5, 2 ** 53 + i, `${i}`, `𝕏${i}`, "x".repeat(200) + i, ` ${i} `]);
    const properties: { [key: string]: Json } = {};
    for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
      properties[pick([...ODD_KEYS, "name", "", " ", "a.b", "ü", "_", "__", "___cells"])] = clone(pick(ODD_VALUES));
    }
    if (rand() < 0.3) properties.nested = { a: [1, { b: [null, "x"] }], c: { d: { e: {} } } };
    f.properties = rand() < 0.1 ? null : properties;
  });
}

/** Byte-level FlatGeobuf mutation aimed at the header, the index or the feature tables of `file`. */
export function mutateFlatGeobuf(file: Uint8Array, rand: () => number): { part: string; bytes: Uint8Array } {
  const int = (n: number) => Math.floor(rand() * n);
  const bytes = file.slice();
  const view = new DataView(bytes.buffer);
  const layout = readLayout(file)!;
  const headerStart = 12, headerEnd = layout.indexOffset;
  const indexEnd = layout.featuresOffset;
  const flip = (from: number, to: number, n: number) => {
    for (let k = 0; k < n && to > from; k++) {
      const at = from + int(to - from);
      bytes[at] = bytes[at]! ^ (1 << int(8));
    }
  };
  const oddDouble = () => [NaN, Infinity, -Infinity, 200, -200, 95, 1e308, 5e-324, -0][int(9)]!;
  // Feature table offsets (size-prefixed) in the data section.
  const features: number[] = [];
  for (let at = layout.featuresOffset; at + 4 <= file.length && features.length < 10_000;) {
    features.push(at);
    at += 4 + view.getUint32(at, true);
  }
  const feature = features[int(features.length)] ?? layout.featuresOffset;
  const featureEnd = Math.min(file.length, feature + 4 + view.getUint32(feature, true));
  switch (int(12)) {
    case 0:
      flip(headerStart, headerEnd, 1 + int(4));
      return { part: "header_bits", bytes };
    case 1:
      view.setUint32(8, [0, 7, headerEnd - 12 + 1, headerEnd - 12 - 1, 0xffffffff, int(1 << 20)][int(6)]!, true);
      return { part: "header_length", bytes };
    case 2:
      flip(headerEnd, indexEnd, 1 + int(8));
      return { part: "index_bits", bytes };
    case 3: {
      // An index node's offset (the u64 after its 4 doubles) pointing anywhere.
      const nodes = Math.floor((indexEnd - headerEnd) / 40);
      if (nodes === 0) return { part: "index_none", bytes: bytes.subarray(0, int(bytes.length)) };
      const at = headerEnd + 40 * int(nodes) + 32;
      view.setBigUint64(at, BigInt([0, 1, 0x7fffffff, file.length, int(file.length)][int(5)]!), true);
      return { part: "index_offset", bytes };
    }
    case 4:
      flip(feature + 4, featureEnd, 1 + int(6));
      return { part: "feature_bits", bytes };
    case 5:
      view.setUint32(feature, [0, 1, 3, 0xffffffff, int(1 << 16)][int(5)]!, true);
      return { part: "feature_size", bytes };
    case 6: {
      // An aligned double inside a feature table (often a coordinate) set to an odd value.
      const slots = Math.floor((featureEnd - feature - 8) / 8);
      if (slots > 0) view.setFloat64(feature + 8 + 8 * int(slots), oddDouble(), true);
      return { part: "feature_double", bytes };
    }
    case 7: {
      // A u32 inside a feature table (vtable offsets, vector lengths, ring ends) set to an odd value.
      const slots = Math.floor((featureEnd - feature - 4) / 4);
      if (slots > 0) view.setUint32(feature + 4 + 4 * int(slots), [0, 1, 2, 3, 0xffff, 0xffffffff][int(6)]!, true);
      return { part: "feature_u32", bytes };
    }
    case 8:
      return { part: "truncated", bytes: bytes.subarray(0, 8 + int(bytes.length - 8)) };
    case 9: {
      const extra = new Uint8Array(1 + int(64)).map(() => int(256));
      const out = new Uint8Array(bytes.length + extra.length);
      out.set(bytes);
      out.set(extra, bytes.length);
      return { part: "trailing_garbage", bytes: out };
    }
    case 10: {
      // One feature table twice: more features than the header promises.
      const copy = bytes.subarray(feature, featureEnd);
      const out = new Uint8Array(bytes.length + copy.length);
      out.set(bytes);
      out.set(copy, bytes.length);
      return { part: "feature_duplicated", bytes: out };
    }
    default:
      flip(8, bytes.length, 1 + int(16));
      return { part: "anywhere_bits", bytes };
  }
}

/** Flips `n` random bytes of a copy of `bytes` from `from` on. */
function flipBytes(bytes: Uint8Array, rand: () => number, n: number, from = 0): Uint8Array {
  const out = bytes.slice();
  for (let k = 0; k < n && out.length > from; k++) {
    out[from + Math.floor(rand() * (out.length - from))]! ^= 1 + Math.floor(rand() * 255);
  }
  return out;
}

/**
 * A structure-aware mutation of a zipped Shapefile: a member dropped, truncated, its header or records corrupted, a
 * bad or unknown .prj, a second layer, or the archive's own bytes broken. `part` names what was mutated.
 */
export function mutateShapefile(
  files: Record<string, Uint8Array>,
  rand: () => number,
): { part: string; bytes: Uint8Array } {
  const copy = { ...files };
  const names = Object.keys(copy);
  const member = names[Math.floor(rand() * names.length)]!;
  const ext = member.slice(member.lastIndexOf(".") + 1);
  switch (Math.floor(rand() * 8)) {
    case 0:
      delete copy[member];
      return { part: `zip_no_${ext}`, bytes: zipSync(copy) };
    case 1:
      copy[member] = copy[member]!.slice(0, Math.floor(rand() * copy[member]!.length));
      return { part: `zip_truncated_${ext}`, bytes: zipSync(copy) };
    case 2:
      copy[member] = flipBytes(copy[member]!, rand, 1 + Math.floor(rand() * 4), 0);
      return { part: `zip_header_${ext}`, bytes: zipSync(copy) };
    case 3:
      copy[member] = flipBytes(
        copy[member]!,
        rand,
        1 + Math.floor(rand() * 8),
        Math.min(100, copy[member]!.length - 1),
      );
      return { part: `zip_records_${ext}`, bytes: zipSync(copy) };
    case 4: {
      const prjs = ['PROJCS["x",AUTHORITY["EPSG","999999"]]', "GEOGCS[", "not a WKT", ""];
      copy["fuzz_counties.prj"] = new TextEncoder().encode(prjs[Math.floor(rand() * prjs.length)]!);
      return { part: "zip_prj", bytes: zipSync(copy) };
    }
    case 5:
      copy["other.shp"] = copy["fuzz_counties.shp"]!;
      copy["other.dbf"] = copy["fuzz_counties.dbf"]!;
      return { part: "zip_two_layers", bytes: zipSync(copy) };
    case 6: {
      const zip = zipSync(copy);
      return { part: "zip_truncated", bytes: zip.slice(0, Math.floor(rand() * zip.length)) };
    }
    default:
      return { part: "zip_bytes", bytes: flipBytes(zipSync(copy), rand, 1 + Math.floor(rand() * 6)) };
  }
}

/** A mutation of a CSV with a WKT column: a broken or empty WKT, odd numbers, ragged rows, quotes, bad UTF-8. */
export function mutateCsv(csv: string, rand: () => number): { part: string; bytes: Uint8Array } {
  const lines = csv.split("\n");
  const row = 1 + Math.floor(rand() * Math.max(1, lines.length - 2));
  const line = lines[row] ?? "";
  switch (Math.floor(rand() * 7)) {
    case 0:
      lines[row] = line.slice(0, Math.floor(rand() * line.length));
      return { part: "csv_truncated_row", bytes: enc.encode(lines.join("\n")) };
    case 1:
      lines[row] = line.replace(/-?\d+\.\d+/, ["NaN", "1e400", "", "x", "-"][Math.floor(rand() * 5)]!);
      return { part: "csv_number", bytes: enc.encode(lines.join("\n")) };
    case 2:
      lines[row] = line.replace(
        /^"[^"]*"/,
        ['""', '"POINT EMPTY"', '"CIRCLE(0 0, 1)"', '"POLYGON((0 0,1 1,0 0))"'][Math.floor(rand() * 4)]!,
      );
      return { part: "csv_wkt", bytes: enc.encode(lines.join("\n")) };
    case 3:
      lines[row] = `${line},extra,"`;
      return { part: "csv_ragged", bytes: enc.encode(lines.join("\n")) };
    case 4:
      lines[0] = ["", "id,name", "WKT,WKT,id", "wkt;id;name"][Math.floor(rand() * 4)]!;
      return { part: "csv_header", bytes: enc.encode(lines.join("\n")) };
    case 5:
      return { part: "csv_quote", bytes: enc.encode(csv.replace('"', "")) };
    default:
      return {
        part: "csv_bytes",
        bytes: new Uint8Array([...enc.encode(csv.slice(0, 40)), 0xff, 0xc0, ...enc.encode(csv.slice(40))]),
      };
  }
}

/** A streamed body is not needed here: every case is a small body (a few KB to ~60 KB). */
export function fuzzGenerator(seed: number, inputs: FuzzInputs): (index: number) => FuzzCase {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number) => Math.floor(rand() * n);
  /** A UUID v4 drawn from the seed (replays give the same keys). */
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => int(16).toString(16));
    hex[12] = "4";
    hex[16] = "89ab"[int(4)]!;
    const h = hex.join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const counties = seedCounties();
  const files = inputs.flatgeobufs;
  const seeds = inputs.vectorSeeds;
  const auth = { authorization: `Bearer ${inputs.token}` };
  const ownerAuth = { authorization: `Bearer ${inputs.owner}` };
  const jsonHeaders = { ...auth, "content-type": "application/json" };
  const countyFc = (n: number) => ({
    type: "FeatureCollection",
    features: Array.from({ length: n }, () => clone(pick(counties))),
  });
  const pointFc = (n: number) => ({
    type: "FeatureCollection",
    features: Array.from({ length: n }, (_, i) => ({
      type: "Feature",
      id: i,
      properties: {},
      geometry: { type: "Point", coordinates: [-100 + rand() * 20, 30 + rand() * 15] },
    })),
  });
  const baseJob = (): Record<string, Json> => {
    const op = pick(["polygon_intersection", "point_in_polygon", "spatial_join"] as const);
    const job: Record<string, Json> = {
      job_idempotency_key: uuid(),
      spatial_operation: op,
      input_crs: "EPSG:4326",
      output_format: pick(["geojson", "flatgeobuf"]),
      geometry_payload: op === "point_in_polygon" ? pointFc(1 + int(3)) : countyFc(1 + int(2)),
      dataset: op === "point_in_polygon" ? FUZZ_DATASETS.zones : pick(Object.values(FUZZ_DATASETS)),
    };
    if (op === "spatial_join") {
      job.predicate = pick(["intersects", "contains", "within", "dwithin"]);
      if (job.predicate === "dwithin") job.distance_m = pick([1, 1000, 50_000]);
    }
    if (op === "polygon_intersection") job.dataset = FUZZ_DATASETS.zones;
    return job;
  };
  const jobCase = (kind: string, body: string | Uint8Array, key: string, headers = jsonHeaders): FuzzCase => ({
    kind,
    method: "POST",
    path: "/v1/jobs",
    headers,
    body,
    target: { jobKey: key },
  });
  const datasetCase = (kind: string, name: string, contentType: string, body: string | Uint8Array): FuzzCase => ({
    kind,
    method: "PUT",
    path: `/v1/datasets/${name}?classification=public${rand() < 0.5 ? "&repair=true" : ""}`,
    headers: { ...ownerAuth, "content-type": contentType },
    body,
    target: { dataset: name },
  });

  const kinds: [number, (i: number) => FuzzCase][] = [
    // JSON-structure mutations of a job over counties / points.
    [26, () => {
      const job = baseJob();
      const key = job.job_idempotency_key as string;
      const mutated = mutateJson(
        rand() < 0.7 ? job.geometry_payload! : job,
        rand,
        1 + int(3),
      );
      const body = rand() < 0.7 ? { ...job, geometry_payload: mutated } : mutated;
      const sentKey = body !== null && typeof body === "object" && !Array.isArray(body)
        ? String(body.job_idempotency_key ?? key)
        : key;
      return jobCase("job_mutated", JSON.stringify(body), sentKey);
    }],
    // One degenerate coordinate array, in a job's payload or a dataset (the class that crashed the contract check).
    [8, (i) => {
      if (rand() < 0.3) {
        const fc = countyFc(1 + int(3));
        degenerateCoordinates(fc as unknown as { features: Record<string, Json>[] }, rand);
        return datasetCase("dataset_degenerate", `fz-${seed}-${i}`, "application/geo+json", JSON.stringify(fc));
      }
      const job = baseJob();
      degenerateCoordinates(job.geometry_payload as unknown as { features: Record<string, Json>[] }, rand);
      return jobCase("job_degenerate", JSON.stringify(job), job.job_idempotency_key as string);
    }],
    // Odd but valid ids and properties: jobs and datasets that are accepted and then run.
    [10, (i) => {
      if (rand() < 0.5) {
        const fc = countyFc(1 + int(6));
        oddButValid(fc as unknown as { features: Record<string, Json>[] }, rand);
        return datasetCase("dataset_odd_valid", `fz-${seed}-${i}`, "application/geo+json", JSON.stringify(fc));
      }
      const job = baseJob();
      oddButValid(job.geometry_payload as unknown as { features: Record<string, Json>[] }, rand);
      return jobCase("job_odd_valid", JSON.stringify(job), job.job_idempotency_key as string);
    }],
    // JSON-structure mutations of a counties dataset.
    [20, (i) => {
      const fc = countyFc(1 + int(4));
      return datasetCase(
        "dataset_geojson_mutated",
        `fz-${seed}-${i}`,
        pick(["application/geo+json", "application/json"]),
        JSON.stringify(mutateJson(fc as unknown as Json, rand, 1 + int(3))),
      );
    }],
    // Byte-level mutations of a GDAL FlatGeobuf.
    [20, (i) => {
      const { part, bytes } = mutateFlatGeobuf(
        pick(files.length > 1 && rand() > 0.12 ? files.slice(0, -1) : files),
        rand,
      );
      return datasetCase(`dataset_fgb_${part}`, `fz-${seed}-${i}`, "application/flatgeobuf", bytes);
    }],
    // Mutated Shapefile archives, CSVs and GeoPackages written by GDAL (a GeoPackage is not a Worker input: 415).
    [seeds ? 12 : 0, (i) => {
      const choice = rand();
      if (choice < 0.5) {
        const { part, bytes } = mutateShapefile(seeds!.shapefile, rand);
        return datasetCase(`dataset_${part}`, `fz-${seed}-${i}`, "application/zip", bytes);
      }
      if (choice < 0.9) {
        const { part, bytes } = mutateCsv(seeds!.csv, rand);
        return datasetCase(`dataset_${part}`, `fz-${seed}-${i}`, "text/csv", bytes);
      }
      const gpkg = flipBytes(seeds!.geopackage, rand, int(4));
      return datasetCase("dataset_gpkg", `fz-${seed}-${i}`, "application/geopackage+sqlite3", gpkg);
    }],
    // Hostile job bodies (no valid base: syntax, types, sizes, encodings).
    [14, () => {
      const key = uuid();
      const text = JSON.stringify({ ...baseJob(), job_idempotency_key: key });
      const variants: (() => string | Uint8Array)[] = [
        () => text.slice(0, int(text.length)),
        () => text.replace(/"/g, "'"),
        () => text + pick(["x", "}", "]", ",", "null"]),
        () => "[".repeat(pick([33, 64, 1000])) + "]".repeat(pick([0, 33, 1000])),
        () => text.replace(/-?\d+\.\d+/, pick(["NaN", "Infinity", "1e400", "-1e999", "0x10", "01", ".5"])),
        () => text.replace('"EPSG:4326"', pick(['"EPSG:0"', '"EPSG:999999"', "4326", "null"])),
        () => text.replace(/}$/, `,"${pick(["unexpected", "_cells", "__proto__"])}":1}`),
        () =>
          text.replace(
            /}$/,
            `,"bbox":${JSON.stringify(pick([[1, 1, 0, 0], [0, 0, 1], [-200, 0, 1, 1], [0, 95, 1, 96]]))}}`,
          ),
        () => text.replace(/}$/, `,"callback_url":${JSON.stringify(pick(["javascript:alert(1)", "ftp://x", 1, ""]))}}`),
        () => {
          const at = text.indexOf('"Feature"') + 2;
          return new Uint8Array([
            ...enc.encode(text.slice(0, at)),
            ...pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]),
            ...enc.encode(text.slice(at)),
          ]);
        },
        () => JSON.stringify({ ...baseJob(), job_idempotency_key: key, left_dataset: FUZZ_DATASETS.zones }),
        () =>
          JSON.stringify({
            ...baseJob(),
            job_idempotency_key: key,
            dataset: pick(["../x", "", "nope", "a".repeat(200)]),
          }),
      ];
      const body = pick(variants)();
      const headers = rand() < 0.1
        ? { ...auth, "content-type": pick(["text/plain", "application/xml", "", "application/jsonx"]) }
        : jsonHeaders;
      return jobCase("job_hostile", body, key, headers);
    }],
    // Hostile requests outside the body: paths, methods, tokens, headers.
    [10, () => {
      const variant = int(4);
      if (variant === 0) {
        const method = pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);
        const segment = () =>
          pick([
            "v1",
            "jobs",
            "datasets",
            "ops",
            "..",
            "%2e%2e",
            "%00",
            "%ff",
            "a b",
            "~",
            "job_" + "f".repeat(int(300)),
          ]);
        let path = "/" + Array.from({ length: 1 + int(5) }, segment).join("/");
        if (/^\/v1\/(jobs|datasets(\/[^/]+)?)$/.test(path)) path += "/x/y";
        return { kind: "path_method", method, path, headers: auth, ...(method === "GET" ? {} : { body: "{" }) };
      }
      if (variant === 1) {
        const bad = pick(["a.b.c", "eyJhbGciOiJub25lIn0.e30.", inputs.token.slice(0, -3) + "AAA", "x".repeat(9000)]);
        return jobCase("token", JSON.stringify(baseJob()), uuid(), {
          authorization: `Bearer ${bad}`,
          "content-type": "application/json",
        });
      }
      if (variant === 2) {
        return {
          kind: "job_id_path",
          method: pick(["GET", "DELETE"]),
          path: `/v1/jobs/${pick(["job_x", "job_81757ffffffffff_" + "0".repeat(32), "%00", "a".repeat(250)])}${
            pick(["", "/result"])
          }`,
          headers: auth,
        };
      }
      return datasetCase(
        "dataset_media",
        `fz-${seed}-x${int(1e9)}`,
        pick(["text/csv", "application/flatgeobuf", "application/geo+json"]),
        pick(["", "{", "fgb", "null", "[]"]),
      );
    }],
  ];
  const total = kinds.reduce((n, [w]) => n + w, 0);
  return (index: number) => {
    let r = rand() * total;
    for (const [weight, make] of kinds) {
      if ((r -= weight) < 0) return make(index);
    }
    return kinds[0]![1](index);
  };
}
