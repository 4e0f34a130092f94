/**
 * Typed handles over GEOS objects. Each owns one GEOS pointer, frees it once
 * (`free()` or `using`), and refuses use after free with a ReferenceError.
 */
import type { GeosRuntime } from "./core.ts";
import { readGeometry } from "./flat_out.ts";
import { geodesicArea } from "./geodesic.ts";
import { clipByRect, intersection } from "./ops/intersection.ts";
import { bounds, planarArea } from "./ops/measure.ts";
import type { Bbox, FeatureId, FlatGeometry } from "./flat_geometry.ts";
import { gridIntersectingPoints, type PointGridOptions } from "./ops/point_grid.ts";
import {
  predicate,
  preparedContainsXY,
  preparedIntersectingPoints,
  preparedIntersectsXY,
  preparedPredicate,
} from "./ops/predicates.ts";
import { isPolygonal, makeValid, polygonalPart, VALID_REASON, validReason } from "./ops/validity.ts";

// workerd and older runtimes may lack the well-known symbol; `using` desugars to it.
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for("Symbol.dispose");

export class Geometry implements Disposable {
  readonly #rt: GeosRuntime;
  #ptr: number;
  #prepared: PreparedGeometry | undefined;
  /** The feature id, carried into error messages. */
  readonly id: FeatureId | undefined;

  /** Takes ownership of a GEOS geometry pointer. */
  constructor(rt: GeosRuntime, ptr: number, id?: FeatureId) {
    this.#rt = rt;
    this.#ptr = ptr;
    this.id = id;
    rt.track(1);
  }

  /** The GEOS pointer (for the core's own modules). */
  get ptr(): number {
    if (!this.#ptr) throw new ReferenceError(`Geometry${this.id === undefined ? "" : ` "${this.id}"`} used after free`);
    return this.#ptr;
  }

  get freed(): boolean {
    return this.#ptr === 0;
  }

  /** The prepared form (built once, cached, freed with this geometry) for repeated predicates. */
  prepared(): PreparedGeometry {
    if (this.#prepared && !this.#prepared.freed) return this.#prepared;
    const ptr = this.#rt.raw.GEOSPrepare_r(this.#rt.ctx, this.ptr) || this.#rt.fail("prepare", [this.id]);
    this.#prepared = new PreparedGeometry(this.#rt, ptr, this);
    return this.#prepared;
  }

  /** ST_Intersects (boundary contact counts). */
  intersects(other: Geometry): boolean {
    return predicate(this.#rt, "intersects", this.ptr, other.ptr, [this.id, other.id]);
  }
  /** ST_Contains: `other` lies in this geometry and touches its interior. */
  contains(other: Geometry): boolean {
    return predicate(this.#rt, "contains", this.ptr, other.ptr, [this.id, other.id]);
  }
  /** ST_Within: this geometry lies in `other`. */
  within(other: Geometry): boolean {
    return predicate(this.#rt, "within", this.ptr, other.ptr, [this.id, other.id]);
  }

  /** ST_Intersection as a new geometry (may be a collection: see `polygonalPart`). Throws `TopologyError`. */
  intersection(other: Geometry): Geometry {
    const ptr = intersection(this.#rt, this.ptr, other.ptr, [this.id, other.id]);
    return new Geometry(this.#rt, ptr, this.id);
  }

  /**
   * Intersection with the rectangle `[minX, minY, maxX, maxY]` (GEOS ClipByRect, ST_ClipByBox2D): the fast path
   * for grid cells and tiles. Same polygonal result as `intersection` for valid polygonal input.
   */
  clipToRect(rect: Readonly<Bbox>): Geometry {
    return new Geometry(this.#rt, clipByRect(this.#rt, this.ptr, rect, this.id), this.id);
  }

  /** Planar area in coordinate units² (ST_Area(geometry)). */
  area(): number {
    return planarArea(this.#rt, this.ptr);
  }

  /** Area in m² on the WGS84 ellipsoid (ST_Area(geography)). */
  geodesicArea(): number {
    return geodesicArea(this.#readPolygonal());
  }

  #readPolygonal(): FlatGeometry {
    if (isPolygonal(this.#rt, this.ptr)) return this.toFlat();
    using polygons = this.polygonalPart();
    return polygons.toFlat();
  }

  /** `[minX, minY, maxX, maxY]` (NaN when empty). */
  bounds(): Bbox {
    return bounds(this.#rt, this.ptr);
  }

  isEmpty(): boolean {
    return this.#rt.raw.GEOSisEmpty_r(this.#rt.ctx, this.ptr) === 1;
  }

  /** `"Valid Geometry"` or GEOS's reason, e.g. `"Ring Self-intersection[x y]"` (ST_IsValidReason). */
  validReason(): string {
    return validReason(this.#rt, this.ptr, this.id);
  }

  isValid(): boolean {
    return this.validReason() === VALID_REASON;
  }

  /** ST_MakeValid; for polygonal input only the polygonal part is kept (ST_CollectionExtract(…, 3)). */
  makeValid(): Geometry {
    const repaired = makeValid(this.#rt, this.ptr, this.id);
    if (!isPolygonal(this.#rt, this.ptr) || isPolygonal(this.#rt, repaired)) {
      return new Geometry(this.#rt, repaired, this.id);
    }
    try {
      return new Geometry(this.#rt, polygonalPart(this.#rt, repaired), this.id);
    } finally {
      this.#rt.raw.GEOSGeom_destroy_r(this.#rt.ctx, repaired);
    }
  }

  /** The polygons only (ST_CollectionExtract(g, 3)), as a new geometry. */
  polygonalPart(): Geometry {
    return new Geometry(this.#rt, polygonalPart(this.#rt, this.ptr), this.id);
  }

  /** Copies the coordinates out in bulk. A mixed GeometryCollection is a TypeError. */
  toFlat(): FlatGeometry {
    return readGeometry(this.#rt, this.ptr);
  }

  /** Frees the prepared form (if any), then the geometry. Idempotent. */
  free(): void {
    if (!this.#ptr) return;
    this.#prepared?.free();
    this.#rt.raw.GEOSGeom_destroy_r(this.#rt.ctx, this.#ptr);
    this.#ptr = 0;
    this.#rt.track(-1);
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

/** A prepared geometry (GEOS caches its indexes): fast repeated predicates against one geometry. */
export class PreparedGeometry implements Disposable {
  readonly #rt: GeosRuntime;
  #ptr: number;
  readonly base: Geometry;
  #envelope: Bbox | undefined;
  #flat: FlatGeometry | null | undefined;

  constructor(rt: GeosRuntime, ptr: number, base: Geometry) {
    this.#rt = rt;
    this.#ptr = ptr;
    this.base = base;
    rt.track(1);
  }

  get freed(): boolean {
    return this.#ptr === 0;
  }

  get #live(): number {
    if (!this.#ptr || this.base.freed) throw new ReferenceError("Prepared geometry used after free");
    return this.#ptr;
  }

  intersects(other: Geometry): boolean {
    return preparedPredicate(this.#rt, "intersects", this.#live, other.ptr, [this.base.id, other.id]);
  }
  contains(other: Geometry): boolean {
    return preparedPredicate(this.#rt, "contains", this.#live, other.ptr, [this.base.id, other.id]);
  }
  /** The base geometry lies within `other`. */
  within(other: Geometry): boolean {
    return preparedPredicate(this.#rt, "within", this.#live, other.ptr, [this.base.id, other.id]);
  }
  /** Point (x, y) intersects (inside or on the boundary), with no point geometry created. */
  intersectsXY(x: number, y: number): boolean {
    return preparedIntersectsXY(this.#rt, this.#live, x, y, this.base.id);
  }
  /** Point (x, y) strictly inside (boundary excluded). */
  containsXY(x: number, y: number): boolean {
    return preparedContainsXY(this.#rt, this.#live, x, y, this.base.id);
  }
  /**
   * The indices in `candidates` (in their order) of the points of `xy` (interleaved) that intersect this geometry
   * (ST_Intersects: boundary points count). For a polygon with many candidates, only the points near its boundary
   * are tested one by one; the others are answered a grid region at a time (`point_grid.ts`). The answer is the
   * same as `intersectsXY` point by point.
   */
  intersectingPoints(xy: Float64Array, candidates: ArrayLike<number>, options?: PointGridOptions): number[] {
    const live = this.#live;
    this.#envelope ??= this.base.bounds();
    const polygon = () => {
      if (this.#flat === undefined) this.#flat = isPolygonal(this.#rt, this.base.ptr) ? this.base.toFlat() : null;
      return this.#flat;
    };
    return gridIntersectingPoints(this.#rt, live, polygon, this.#envelope, xy, candidates, this.base.id, options);
  }
  /** `intersectingPoints` with one `GEOSPreparedIntersectsXY_r` call per candidate (the reference path). */
  intersectingPointsOneByOne(xy: Float64Array, candidates: ArrayLike<number>): number[] {
    return preparedIntersectingPoints(this.#rt, this.#live, xy, candidates, this.base.id);
  }

  free(): void {
    if (!this.#ptr) return;
    this.#rt.raw.GEOSPreparedGeom_destroy_r(this.#rt.ctx, this.#ptr);
    this.#ptr = 0;
    this.#rt.track(-1);
  }

  [Symbol.dispose](): void {
    this.free();
  }
}
