/**
 * The row-level rule of a job's window, applied where a partition reads its
 * features: a feature is read (and so can be returned) only when it
 * intersects the window, on either side, for every operation, as a
 * PostgreSQL policy `USING (ST_Intersects(geom, window))` would. The window
 * comes from `jobWindow` (shared/auth/job_policy.ts), the same rule the scope
 * check uses.
 */
import type { JobWindow } from "../../shared/auth/job_policy.ts";
import type { FlatFeature, GeometryCore, PreparedGeometry } from "../../wasm/mod.ts";
import type { Bbox } from "../../shared/contract/common.ts";

export class WindowFilter implements Disposable {
  readonly #core: GeometryCore;
  readonly #boxes: JobWindow;
  /** Each box as a prepared GEOS rectangle, built when a feature first straddles an edge. */
  #rectangles: PreparedGeometry[] | undefined;

  constructor(core: GeometryCore, window: JobWindow) {
    this.#core = core;
    this.#boxes = window;
  }

  /** Every feature whose bbox lies in `box` is inside the window: nothing to test one by one. */
  covers(box: ArrayLike<number>): boolean {
    return this.#boxes.some((w) => within(box, w));
  }

  /** Whether `feature` (whose bbox is `box`) intersects the window: by bboxes, else exactly (GEOS). */
  keeps(feature: FlatFeature, box: ArrayLike<number>): boolean {
    if (this.covers(box)) return true;
    if (!this.#boxes.some((w) => meets(box, w))) return false;
    // A point's bbox is the point: meeting a box is intersecting it.
    if (box[0] === box[2] && box[1] === box[3]) return true;
    using geometry = this.#core.fromFeature(feature);
    return this.#prepared().some((rectangle) => rectangle.intersects(geometry));
  }

  #prepared(): PreparedGeometry[] {
    return this.#rectangles ??= this.#boxes.map(([x0, y0, x1, y1]) =>
      this.#core.fromFlat({ kind: "Polygon", xy: new Float64Array([x0, y0, x1, y0, x1, y1, x0, y1, x0, y0]) })
        .prepared()
    );
  }

  [Symbol.dispose](): void {
    for (const rectangle of this.#rectangles ?? []) rectangle.base.free();
    this.#rectangles = undefined;
  }
}

function within(inner: ArrayLike<number>, outer: Bbox): boolean {
  return inner[0]! >= outer[0] && inner[1]! >= outer[1] && inner[2]! <= outer[2] && inner[3]! <= outer[3];
}

function meets(a: ArrayLike<number>, b: Bbox): boolean {
  return a[0]! <= b[2] && a[2]! >= b[0] && a[1]! <= b[3] && a[3]! >= b[1];
}
