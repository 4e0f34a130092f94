import { equal } from "node:assert/strict";
import { fromArrayBuffer } from "geotiff";
import { describeGeoTiff } from "../../../../shared/raster/raster_info.ts";
import { RasterBlockCache } from "../../../../shared/raster/raster_reader.ts";
import type { TileObjectBody } from "../../../../shared/tiles/fgb_reader.ts";
import { MemoryBucket } from "../tiles/memory_bucket.ts";

const FIXTURES = new URL("../../../fixtures/raster/", import.meta.url);

/** A memory bucket that counts its range reads and their bytes. */
class CountingBucket extends MemoryBucket {
  gets: { offset: number; length: number }[] = [];

  override get(key: string, options?: { range?: { offset: number; length: number } }): Promise<TileObjectBody | null> {
    if (options?.range) this.gets.push(options.range);
    return super.get(key, options);
  }
}

async function open(name: string) {
  const bytes = await Deno.readFile(new URL(name, FIXTURES));
  const bucket = new CountingBucket();
  await bucket.put(name, bytes);
  const reference = await fromArrayBuffer(bytes.buffer);
  const info = await describeGeoTiff(reference);
  return { bucket, reference, raster: { ...info, key: name, bytes: bytes.length } };
}

for (
  const name of [
    "elev_cog.tif", // tiled Int16 DEFLATE: decoded in place
    "elev_float64_nan.tif", // tiled Float64 DEFLATE with NaN nodata: decoded in place
    "elev_uint8_holes.tif", // tiled Byte DEFLATE: decoded in place
    "landsat_4326.tif", // tiled, bands interleaved per pixel: read through geotiff.js
    "landsat_3857.tif", // striped, band-separate: read through geotiff.js
    "elev_striped.tif", // striped, uncompressed: read through geotiff.js
  ]
) {
  Deno.test(`every block of ${name} holds the pixels geotiff.js reads at its place, for every band`, async () => {
    const { bucket, reference, raster } = await open(name);
    const image = await reference.getImage(0);
    const cache = new RasterBlockCache(2 ** 20);
    const [bw, bh] = raster.block_size;
    const wanted: [number, number][] = [];
    for (let by = 0; by * bh < raster.height; by++) {
      for (let bx = 0; bx * bw < raster.width; bx++) wanted.push([bx, by]);
    }
    for (let band = 0; band < raster.bands.length; band++) {
      const [want] = await image.readRasters({ samples: [band] }) as unknown as [ArrayLike<number>];
      const blocks = await cache.blocks(bucket, raster, band, wanted);
      wanted.forEach(([bx, by], k) => {
        const block = blocks[k]!;
        const x0 = bx * bw, y0 = by * bh;
        for (let y = y0; y < Math.min(raster.height, y0 + bh); y++) {
          for (let x = x0; x < Math.min(raster.width, x0 + bw); x++) {
            const got = block.values[(y - y0) * block.width + x - x0]!, expected = want![y * raster.width + x]!;
            if (!Object.is(got, expected)) {
              throw new Error(`band ${band} pixel (${x}, ${y}) of block (${bx}, ${by}): ${got} ≠ ${expected}`);
            }
          }
        }
      });
    }
  });
}

Deno.test("a row of adjacent COG tiles read together costs one range request, and cached tiles none", async () => {
  const { bucket, raster } = await open("elev_cog.tif");
  const cache = new RasterBlockCache(2 ** 20);
  // The header and the tile offsets first (the chunked header reads), then the row of three tiles.
  await cache.blocks(bucket, raster, 0, [[0, 0]]);
  bucket.gets = [];
  await cache.blocks(bucket, raster, 0, [[1, 1], [0, 1], [2, 1]]);
  equal(bucket.gets.length, 1);
  // Cached tiles are not read again.
  bucket.gets = [];
  await cache.blocks(bucket, raster, 0, [[0, 1], [1, 1], [2, 1], [0, 0]]);
  equal(bucket.gets.length, 0);
});

Deno.test("a block asked for by two readers at once is read once", async () => {
  const { bucket, raster } = await open("elev_cog.tif");
  const cache = new RasterBlockCache(2 ** 20);
  await cache.blocks(bucket, raster, 0, [[0, 0]]);
  bucket.gets = [];
  const [a, b] = await Promise.all([
    cache.blocks(bucket, raster, 0, [[1, 1]]),
    cache.blocks(bucket, raster, 0, [[1, 1], [2, 1]]),
  ]);
  equal(a[0], b[0]);
  equal(bucket.gets.length, 2);
});
