/** Loads the geometry core in Deno from the extracted binaries (`deno task build`). */
import { type GeometryCore, loadGeometryCore } from "../../../wasm/mod.ts";
import type { FlatGeometry } from "../../../wasm/flat_geometry.ts";

export async function denoWasmModules() {
  const dir = new URL("../../../wasm/generated/", import.meta.url);
  return {
    geos: await WebAssembly.compile(await Deno.readFile(new URL("geos.wasm", dir))),
    trampolineVii: await WebAssembly.compile(await Deno.readFile(new URL("trampoline_vii.wasm", dir))),
  };
}

export async function loadCoreForTests(): Promise<GeometryCore> {
  return loadGeometryCore(await denoWasmModules());
}

/** A polygon from rings given as [x, y] lists. */
export function polygon(...rings: number[][][]): FlatGeometry {
  const xy = new Float64Array(rings.flat(2));
  const ends = new Uint32Array(rings.map((_, i) => rings.slice(0, i + 1).reduce((n, r) => n + r.length, 0)));
  return rings.length > 1 ? { kind: "Polygon", xy, ends } : { kind: "Polygon", xy };
}

/** The axis-aligned square [x0, x0+size] × [y0, y0+size], counter-clockwise. */
export function square(x0: number, y0: number, size = 1): number[][] {
  return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]];
}
