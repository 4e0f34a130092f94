import assert from "node:assert/strict";
import { datasetUrl, mediaTypeForFile } from "../../../../scripts/bench/upload.ts";

Deno.test("publish CLI guesses FlatGeobuf from .fgb and GeoJSON from .geojson/.json, and nothing from other names", () => {
  assert.equal(mediaTypeForFile("a/b/parcels.FGB"), "application/flatgeobuf");
  assert.equal(mediaTypeForFile("counties.geojson"), "application/geo+json");
  assert.equal(mediaTypeForFile("counties.json"), "application/geo+json");
  assert.equal(mediaTypeForFile("counties.shp"), null);
});

Deno.test("publish CLI builds the dataset URL with only the query parameters given, name escaped", () => {
  assert.equal(
    datasetUrl({ url: "http://127.0.0.1:8787/", name: "us-counties" }),
    "http://127.0.0.1:8787/v1/datasets/us-counties",
  );
  assert.equal(
    datasetUrl({ url: "https://x.example", name: "a b", repair: true, crs: "EPSG:3857", classification: "public" }),
    "https://x.example/v1/datasets/a%20b?classification=public&repair=true&crs=EPSG%3A3857",
  );
});
