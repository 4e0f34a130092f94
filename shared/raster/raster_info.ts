/**
 * What a raster dataset is, as read from its GeoTIFF header: grid, bands, CRS
 * and block layout. Validation of an upload is here too: a TIFF the service
 * cannot compute on (no georeference, a rotated grid, an unsupported CRS or
 * pixel type) is a 422 naming the reason.
 */
import type { GeoTIFF, GeoTIFFImage } from "geotiff";
import type { Bbox } from "../contract/common.ts";
import { ValidationError } from "../problem.ts";
import { toWgs84InPlace } from "../contract/crs.ts";

export const RASTER_DATA_TYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"] as const;
export type RasterDataType = (typeof RASTER_DATA_TYPES)[number];
export const RASTER_CRS = ["EPSG:4326", "EPSG:3857"] as const;
export type RasterCrs = (typeof RASTER_CRS)[number];

export interface RasterBand {
  data_type: RasterDataType;
  /** The GDAL_NODATA value, `"nan"` for NaN (JSON has no NaN), or null when the file has none. */
  nodata: number | "nan" | null;
}

/** A band's nodata as a number to compare pixels with (NaN for `"nan"`), or null. */
export function nodataValue(band: RasterBand): number | null {
  return band.nodata === "nan" ? NaN : band.nodata;
}

/** The grid and layout of a raster; `geotransform` as GDAL's: x = gt[0] + col·gt[1], y = gt[3] + row·gt[5]. */
export interface RasterGrid {
  width: number;
  height: number;
  crs: RasterCrs;
  geotransform: [number, number, number, number, number, number];
  /** Tile size, or (image width, rows per strip) for a striped file. */
  block_size: [number, number];
  layout: "tiled" | "striped";
  bands: RasterBand[];
}

/** A raster's grid plus what the manifest reports about it. */
export interface RasterInfo extends RasterGrid {
  /** [dx, dy] in CRS units (dy negative for a north-up grid). */
  pixel_size: [number, number];
  /** Extent in the raster's CRS. */
  extent: Bbox;
  /** Extent in EPSG:4326 (lon/lat). */
  bbox: Bbox;
  compression: number;
}

const fail = (message: string): never => {
  throw new ValidationError(`The GeoTIFF cannot be published: ${message}.`, [{ path: "", message }]);
};

function dataTypeOf(format: number, bits: number): RasterDataType {
  const name = format === 1 ? `uint${bits}` : format === 2 ? `int${bits}` : format === 3 ? `float${bits}` : "";
  if (!(RASTER_DATA_TYPES as readonly string[]).includes(name)) {
    fail(`pixel type (SampleFormat ${format}, ${bits} bits) is not one of ${RASTER_DATA_TYPES.join(", ")}`);
  }
  return name as RasterDataType;
}

function crsOf(image: GeoTIFFImage): RasterCrs {
  const keys = image.getGeoKeys();
  if (!keys) return fail("it has no GeoKeys (not georeferenced)");
  const projected = keys.ProjectedCSTypeGeoKey as number | undefined;
  const geographic = keys.GeographicTypeGeoKey as number | undefined;
  if (keys.GTModelTypeGeoKey === 1 && projected === 3857) return "EPSG:3857";
  if (keys.GTModelTypeGeoKey === 2 && geographic === 4326) return "EPSG:4326";
  return fail(
    `its CRS (model type ${keys.GTModelTypeGeoKey}, EPSG ${projected ?? geographic ?? "none"}) is not ` +
      RASTER_CRS.join(" or "),
  );
}

function geotransformOf(image: GeoTIFFImage): RasterGrid["geotransform"] {
  const dir = image.fileDirectory;
  const transformation = dir.getValue("ModelTransformation") as number[] | undefined;
  if (transformation && (transformation[1] !== 0 || transformation[4] !== 0)) {
    fail("its grid is rotated (ModelTransformation with shear terms)");
  }
  if (!transformation && (!dir.getValue("ModelPixelScale") || !dir.getValue("ModelTiepoint"))) {
    fail("it has no ModelPixelScale/ModelTiepoint (not georeferenced)");
  }
  const [x0, y0] = image.getOrigin() as [number, number];
  const [dx, dy] = image.getResolution() as [number, number];
  if (!(dx > 0) || !(dy < 0) || !Number.isFinite(x0) || !Number.isFinite(y0)) {
    fail(`its pixel size (${dx}, ${dy}) is not a north-up grid`);
  }
  // PixelIsPoint: the tie point is a pixel's centre, so the grid's corner is half a pixel away (GDAL's reading).
  const isPoint = image.getGeoKeys()?.GTRasterTypeGeoKey === 2;
  return isPoint ? [x0 - dx / 2, dx, 0, y0 - dy / 2, 0, dy] : [x0, dx, 0, y0, 0, dy];
}

/** Reads and checks the first image of a TIFF; throws a 422 {@link ValidationError} naming what is unsupported. */
export async function describeGeoTiff(tiff: GeoTIFF): Promise<RasterInfo> {
  const image = await tiff.getImage(0);
  const dir = image.fileDirectory;
  await Promise.all(
    ([
      "ModelPixelScale",
      "ModelTiepoint",
      "ModelTransformation",
      "SampleFormat",
      "BitsPerSample",
      "GDAL_NODATA",
    ] as const)
      .filter((tag) => dir.hasTag(tag))
      .map((tag) => dir.loadValue(tag)),
  );
  const width = image.getWidth(), height = image.getHeight();
  if (!(width > 0 && height > 0)) fail("it has no pixels");
  const crs = crsOf(image);
  const geotransform = geotransformOf(image);
  const samples = image.getSamplesPerPixel();
  const types = Array.from(
    { length: samples },
    (_, i) => dataTypeOf(image.getSampleFormat(i), image.getBitsPerSample(i)),
  );
  const tag = image.getGDALNoData();
  if (tag !== null && !Number.isNaN(tag) && !Number.isFinite(tag)) fail(`its nodata value ${tag} is not finite`);
  const nodata = tag === null ? null : Number.isNaN(tag) ? "nan" as const : tag;
  const bands = types.map((data_type) => ({ data_type, nodata }));
  const [x0, dx, , y0, , dy] = geotransform;
  const extent: Bbox = [x0, y0 + height * dy, x0 + width * dx, y0];
  return {
    width,
    height,
    crs,
    geotransform,
    block_size: [image.getTileWidth(), image.getTileHeight()],
    layout: image.isTiled ? "tiled" : "striped",
    bands,
    pixel_size: [dx, dy],
    extent,
    bbox: lonLatBbox(extent, crs),
    compression: Number(dir.getValue("Compression") ?? 1),
  };
}

/**
 * The raster a TIFF holds, checked: a file geotiff.js cannot parse is a 422 saying it is not a readable TIFF,
 * one it can parse is checked by {@link describeGeoTiff}. `open` reads the file (in memory or by range).
 */
export async function readGeoTiff(open: () => Promise<GeoTIFF>): Promise<RasterInfo> {
  let tiff: GeoTIFF;
  try {
    tiff = await open();
    await tiff.getImage(0);
  } catch (error) {
    const reason = error instanceof Error ? error.message : "unreadable";
    throw new ValidationError(`The body is not a readable TIFF file: ${reason}.`, [{ path: "", message: reason }]);
  }
  return await describeGeoTiff(tiff);
}

/**
 * An extent in `crs` as a lon/lat bbox inside the world (EPSG:3857 is axis-aligned with lon/lat, so the corners
 * suffice).
 */
export function lonLatBbox(extent: Bbox, crs: RasterCrs): Bbox {
  const xy = toWgs84InPlace(new Float64Array([extent[0], extent[1], extent[2], extent[3]]), crs);
  const within = (v: number, limit: number) => Math.max(-limit, Math.min(limit, v));
  return [within(xy[0]!, 180), within(xy[1]!, 90), within(xy[2]!, 180), within(xy[3]!, 90)];
}
