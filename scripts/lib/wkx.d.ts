// The part of wkx that scripts/lib/geopackage.ts uses. wkx's own types reference Node's Buffer, which would pull
// @types/node into the type check of every test that imports the GeoPackage reader.
declare const wkx: {
  Geometry: { parse(wkb: Uint8Array): { toGeoJSON(): unknown } };
};
export default wkx;
