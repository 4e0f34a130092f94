/**
 * The GEOS runtime of one isolate: the context handle, the raw C functions,
 * a reusable scratch buffer in the WASM heap, GEOS messages turned into typed
 * errors, and the count of live allocations the core owns (for leak tests).
 */
import type { FeatureId } from "./flat_geometry.ts";
import { loadGeosNamespace } from "./loader.ts";
import type { GeosWasmModules } from "./loader.ts";
import { operationError } from "./errors.ts";

/** The GEOS C functions the core calls, all `(number...) => number` (pointers and ints). */
const RAW_FUNCTIONS = [
  "GEOSArea_r",
  "GEOSClipByRect_r",
  "GEOSContains_r",
  "GEOSCoordSeq_copyFromBuffer_r",
  "GEOSCoordSeq_copyToBuffer_r",
  "GEOSCoordSeq_destroy_r",
  "GEOSFree_r",
  "GEOSGeomTypeId_r",
  "GEOSGeom_clone_r",
  "GEOSGeom_createCollection_r",
  "GEOSGeom_createEmptyPolygon_r",
  "GEOSGeom_createLineString_r",
  "GEOSGeom_createLinearRing_r",
  "GEOSGeom_createPoint_r",
  "GEOSGeom_createPointFromXY_r",
  "GEOSGeom_createPolygon_r",
  "GEOSGeom_destroy_r",
  "GEOSGeom_getCoordSeq_r",
  "GEOSGeom_getExtent_r",
  "GEOSGetExteriorRing_r",
  "GEOSGetGeometryN_r",
  "GEOSGetInteriorRingN_r",
  "GEOSGetNumCoordinates_r",
  "GEOSGetNumGeometries_r",
  "GEOSGetNumInteriorRings_r",
  "GEOSIntersection_r",
  "GEOSIntersects_r",
  "GEOSMakeValid_r",
  "GEOSPrepare_r",
  "GEOSPreparedContainsXY_r",
  "GEOSPreparedContains_r",
  "GEOSPreparedGeom_destroy_r",
  "GEOSPreparedIntersectsXY_r",
  "GEOSPreparedIntersects_r",
  "GEOSPreparedWithin_r",
  "GEOSWithin_r",
  "GEOSisEmpty_r",
  "GEOSisValidReason_r",
] as const;

export type RawGeos = { readonly [K in (typeof RAW_FUNCTIONS)[number]]: (...args: number[]) => number };

interface EmscriptenModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPF64: Float64Array;
  UTF8ToString(ptr: number): string;
  [name: string]: unknown;
}

/** GEOS type ids (`GEOSGeomTypeId_r`). */
export const GeomType = {
  Point: 0,
  LineString: 1,
  LinearRing: 2,
  Polygon: 3,
  MultiPoint: 4,
  MultiLineString: 5,
  MultiPolygon: 6,
  GeometryCollection: 7,
} as const;

export class GeosRuntime {
  readonly raw: RawGeos;
  readonly ctx: number;
  readonly #module: EmscriptenModule;
  #messages: string[] = [];
  #live = 0;
  #scratchPtr = 0;
  #scratchBytes = 0;
  /** 32 bytes for out-parameters (four doubles). */
  readonly outPtr: number;

  constructor(module: EmscriptenModule, ctx: number) {
    this.#module = module;
    this.ctx = ctx;
    const raw = {};
    for (const name of RAW_FUNCTIONS) {
      const key = `_${name}`;
      if (typeof module[key] !== "function") throw new Error(`This GEOS build does not export "${name}"`);
      // Read through on each use: the glue's first call replaces its lazy wrapper with the raw WASM export.
      Object.defineProperty(raw, name, { get: () => module[key], enumerable: true });
    }
    this.raw = raw as RawGeos;
    this.outPtr = this.malloc(32);
  }

  /** Called by the loader's message sink. */
  pushMessage(message: string): void {
    this.#messages.push(message);
  }

  /** Takes (and clears) the GEOS error messages raised since the last take. */
  takeMessage(): string {
    const message = this.#messages.join("; ") || "GEOS reported a failure without a message";
    this.#messages.length = 0;
    return message;
  }

  /** Throws the typed error for a failed GEOS call. */
  fail(operation: string, featureIds: (FeatureId | undefined)[]): never {
    throw operationError(operation, this.takeMessage(), featureIds.filter((id) => id !== undefined));
  }

  /** Current WASM heap views (replaced whenever memory grows: never cache them across GEOS calls). */
  get f64(): Float64Array {
    return this.#module.HEAPF64;
  }
  get i32(): Int32Array {
    return this.#module.HEAP32;
  }
  /** Bytes of WASM linear memory. */
  get heapBytes(): number {
    return this.#module.HEAPU8.length;
  }
  /** GEOS objects and heap buffers currently owned through the core (scratch buffers included). */
  get liveAllocations(): number {
    return this.#live;
  }
  /** Record that a GEOS object became owned (+1) or released (-1) by a handle. */
  track(delta: number): void {
    this.#live += delta;
  }

  malloc(bytes: number): number {
    const ptr = this.#module._malloc(bytes);
    if (!ptr) throw new RangeError(`The WASM heap could not allocate ${bytes} bytes`);
    this.#live++;
    return ptr;
  }
  free(ptr: number): void {
    if (!ptr) return;
    this.#module._free(ptr);
    this.#live--;
  }

  /** A heap buffer of at least `bytes`, reused across calls (grown on demand, 8-byte aligned). */
  scratch(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      this.free(this.#scratchPtr);
      this.#scratchBytes = Math.max(bytes, this.#scratchBytes * 2, 4096);
      this.#scratchPtr = this.malloc(this.#scratchBytes);
    }
    return this.#scratchPtr;
  }

  /** Reads and frees a C string returned by GEOS. */
  takeString(ptr: number): string {
    const text = this.#module.UTF8ToString(ptr);
    this.raw.GEOSFree_r(this.ctx, ptr);
    return text;
  }
}

let loading: Promise<GeosRuntime> | undefined;

/** Brings GEOS up once per isolate and returns its runtime. */
export function loadRuntime(modules: GeosWasmModules): Promise<GeosRuntime> {
  loading ??= (async () => {
    // GEOS messages go to whichever runtime exists (none can arrive before it does).
    const sink: { runtime?: GeosRuntime } = {};
    const ns = await loadGeosNamespace(modules, {
      onError: (message) => sink.runtime?.pushMessage(message),
      onNotice: () => {},
    });
    sink.runtime = new GeosRuntime(ns.Module as EmscriptenModule, ns._ctx as number);
    return sink.runtime;
  })().catch((error) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
