// The job page's script (served as /static/job_page.js): follows the job's status document until it ends, then
// draws its result over country and US-state outlines. The token comes from the page's own script (html.ts).
import { LngLatBounds, Map as MapLibreMap } from "/static/maplibre-gl.mjs";

const root = document.getElementById("job");
const jobId = root.dataset.job;
const headers = globalThis.spatialJobsToken ? { authorization: `Bearer ${globalThis.spatialJobsToken}` } : {};
const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "DEAD_LETTER"]);
/**
 * Results up to this many bytes are drawn whole. Larger FlatGeobuf results are streamed and only the features that
 * meet the viewport are kept, at most MAX_DRAWN: committed results carry no spatial index to range-read by bbox.
 */
const WHOLE_RESULT_BYTES = 16 * 1024 * 1024;
const MAX_DRAWN = 200_000;

const map = new MapLibreMap({
  container: "map",
  center: [-98, 39],
  zoom: 3,
  attributionControl: false,
  style: {
    version: 8,
    sources: {
      countries: { type: "geojson", data: "/static/basemap/countries.geojson" },
      states: { type: "geojson", data: "/static/basemap/states.geojson" },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#eef3f7" } },
      { id: "countries", type: "line", source: "countries", paint: { "line-color": "#7a8ca3", "line-width": 1 } },
      {
        id: "states",
        type: "line",
        source: "states",
        paint: { "line-color": "#a5b4c7", "line-width": 0.6, "line-dasharray": [3, 2] },
      },
    ],
  },
});
const mapLoaded = new Promise((resolve) => map.on("load", resolve));

function show(doc) {
  document.getElementById("status").textContent = doc.status;
  const { partitions_done: done, partitions_total: total } = doc.progress;
  document.getElementById("progress").textContent = `${done} / ${total} partitions`;
  if (doc.result) document.getElementById("feature-count").textContent = String(doc.result.feature_count);
  if (doc.stats) document.getElementById("stats").textContent = JSON.stringify(doc.stats, null, 1);
  if (doc.error) document.getElementById("error").textContent = doc.error.detail;
}

async function follow() {
  const response = await fetch(`/v1/jobs/${encodeURIComponent(jobId)}`, { headers });
  if (!response.ok) throw new Error(`status ${response.status}`);
  const doc = await response.json();
  show(doc);
  if (!TERMINAL.has(doc.status)) return setTimeout(() => follow().catch(fail), 1000);
  if (doc.status === "COMPLETED") await draw(doc.result);
  root.dataset.state = "done";
}

/** Features of the result: all of it when small; else those of a FlatGeobuf result that meet the viewport. */
async function resultFeatures(result) {
  const response = await fetch(`/jobs/${encodeURIComponent(jobId)}/results`, { headers });
  if (!response.ok) throw new Error(`result ${response.status}`);
  if (result.format !== "flatgeobuf") return (await response.json()).features;
  const view = result.bytes > WHOLE_RESULT_BYTES ? map.getBounds() : null;
  const features = [];
  for await (const feature of globalThis.flatgeobuf.deserialize(response.body)) {
    if (view && !meets(view, feature.geometry.coordinates)) continue;
    features.push(feature);
    if (features.length >= MAX_DRAWN) {
      await response.body.cancel().catch(() => {});
      break;
    }
  }
  return features;
}

function meets(view, coordinates) {
  const box = new LngLatBounds();
  extend(box, coordinates);
  return !box.isEmpty() && box.getWest() <= view.getEast() && box.getEast() >= view.getWest() &&
    box.getSouth() <= view.getNorth() && box.getNorth() >= view.getSouth();
}

async function draw(result) {
  const [features] = await Promise.all([resultFeatures(result), mapLoaded]);
  map.addSource("result", { type: "geojson", data: { type: "FeatureCollection", features } });
  map.addLayer({
    id: "result-fill",
    type: "fill",
    source: "result",
    filter: ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false],
    paint: { "fill-color": "#e63946", "fill-opacity": 0.55, "fill-outline-color": "#9d0208" },
  });
  map.addLayer({
    id: "result-line",
    type: "line",
    source: "result",
    filter: ["match", ["geometry-type"], ["Point", "MultiPoint"], false, true],
    paint: { "line-color": "#9d0208", "line-width": 0.5 },
  });
  map.addLayer({
    id: "result-point",
    type: "circle",
    source: "result",
    filter: ["match", ["geometry-type"], ["Point", "MultiPoint"], true, false],
    paint: {
      "circle-color": "#e63946",
      "circle-radius": 3,
      "circle-stroke-color": "#9d0208",
      "circle-stroke-width": 1,
    },
  });
  document.getElementById("legend-count").textContent = String(features.length);
  document.getElementById("drawn").textContent = `${features.length} features`;
  const bounds = new LngLatBounds();
  for (const feature of features) extend(bounds, feature.geometry.coordinates);
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 30, animate: false });
  await new Promise((resolve) => map.once("idle", resolve));
}

function extend(bounds, coordinates) {
  if (typeof coordinates[0] === "number") bounds.extend(coordinates);
  else for (const part of coordinates) extend(bounds, part);
}

function fail(error) {
  document.getElementById("error").textContent = String(error.message ?? error);
  root.dataset.state = "error";
}

follow().catch(fail);
