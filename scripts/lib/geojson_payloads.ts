/** GeoJSON bodies the benches and runtime tests build again and again. */
type Box = readonly [number, number, number, number];

/** A FeatureCollection of one Polygon feature (id `box`) covering `[west, south, east, north]`. */
export function boxPayload([w, s, e, n]: Box) {
  return {
    type: "FeatureCollection",
    features: [{
      type: "Feature",
      id: "box",
      properties: {},
      geometry: { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] },
    }],
  };
}

/** A FeatureCollection of Points from interleaved x, y, with ids 1..n. */
export function pointCollection(xy: Float64Array) {
  return {
    type: "FeatureCollection",
    features: Array.from({ length: xy.length / 2 }, (_, i) => ({
      type: "Feature",
      id: i + 1,
      properties: {},
      geometry: { type: "Point", coordinates: [xy[2 * i], xy[2 * i + 1]] },
    })),
  };
}

/** `box` grown by `margin` degrees on every side. */
export const grownBox = ([w, s, e, n]: Box, margin: number): Box => [w - margin, s - margin, e + margin, n + margin];
