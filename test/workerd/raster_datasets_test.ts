/** Raster datasets (`PUT /v1/datasets/{name}?kind=raster`) against real workerd and R2. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { authHeaders, expectProblem, publish, readFixture, stateChanges, stateSnapshot } from "./client.ts";

const RASTER = "kind=raster&classification=public";

Deno.test("PUT ?kind=raster publishes striped, tiled and multi-band GeoTIFFs with their grid, bands and nodata", async () => {
  const service = await startService();
  try {
    const striped = await publish(service, "elev", await readFixture("raster/elev.tif"), {
      contentType: "image/tiff",
      query: RASTER,
    });
    const manifest = await striped.json();
    equal(striped.status, 201, JSON.stringify(manifest));
    ok(String(striped.headers.get("etag")).includes(manifest.etag.replaceAll('"', "")));
    deepEqual(
      {
        kind: manifest.kind,
        version: manifest.version,
        width: manifest.width,
        height: manifest.height,
        bands: manifest.bands,
        crs: manifest.crs,
        block_size: manifest.block_size,
        layout: manifest.layout,
        pixel_size: manifest.pixel_size,
      },
      {
        kind: "raster",
        version: 1,
        width: 95,
        height: 90,
        bands: [{ data_type: "int16", nodata: -32768 }],
        crs: "EPSG:4326",
        block_size: [95, 43],
        layout: "striped",
        pixel_size: [0.008333333333333337, -0.008333333333333333],
      },
    );
    deepEqual(manifest.bbox, [5.741666666666666, 49.44166666666666, 6.533333333333333, 50.19166666666666]);

    const nan = await (await publish(service, "elev-nan", await readFixture("raster/elev_float64_nan.tif"), {
      contentType: "image/tiff",
      query: RASTER,
    })).json();
    deepEqual([nan.bands, nan.layout, nan.block_size], [[{ data_type: "float64", nodata: "nan" }], "tiled", [32, 32]]);

    const mercator = await (await publish(service, "landsat", await readFixture("raster/landsat_3857.tif"), {
      contentType: "image/tiff",
      query: RASTER,
    })).json();
    equal(mercator.crs, "EPSG:3857");
    equal(mercator.bands.length, 6);
    ok(Math.abs(mercator.bbox[0] - -34.89320185481144) < 1e-9, "the manifest's bbox is lon/lat");

    const again = await service.fetch("/v1/datasets/elev", { headers: await authHeaders() });
    const doc = await again.json();
    deepEqual([doc.kind, doc.versions.map((v: { version: number }) => v.version)], ["raster", [1]]);
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("PUT ?kind=raster refuses a non-TIFF, a TIFF without georeference and a wrong media type, storing nothing", async () => {
  const service = await startService();
  try {
    const before = await stateSnapshot(service);
    const elev = await readFixture("raster/elev.tif");
    // A TIFF whose GeoKeys and tie points are gone: clear the tag numbers 33550/33922/34735 in the IFD.
    const plain = elev.slice();
    const view = new DataView(plain.buffer);
    const ifd = view.getUint32(4, true);
    for (let i = 0, n = view.getUint16(ifd, true); i < n; i++) {
      const at = ifd + 2 + 12 * i;
      if ([33550, 33922, 34735].includes(view.getUint16(at, true))) view.setUint16(at, 65000 + i, true);
    }
    await expectProblem(
      await publish(service, "bad", new TextEncoder().encode("not a tiff at all"), {
        contentType: "image/tiff",
        query: RASTER,
      }),
      422,
    );
    const ungeo = await expectProblem(
      await publish(service, "bad", plain, { contentType: "image/tiff", query: RASTER }),
      422,
    );
    ok(/georeferenced|GeoKeys/.test(ungeo.detail), ungeo.detail);
    await expectProblem(await publish(service, "bad", elev, { contentType: "image/png", query: RASTER }), 415);
    await expectProblem(await publish(service, "bad", elev, { contentType: "image/tiff" }), 415);
    await expectProblem(
      await publish(service, "bad", '{"type":"FeatureCollection","features":[]}', { query: RASTER }),
      415,
    );
    const missing = await service.fetch("/v1/datasets/bad", { headers: await authHeaders() });
    equal(missing.status, 404);
    await missing.body?.cancel();
    deepEqual(stateChanges(before, await stateSnapshot(service)), [], "no object, no catalog row");
  } finally {
    await service.stop("SIGTERM");
  }
});
