/**
 * A network's topology, built once at publish with pgRouting's conventions: vertices are the distinct edge
 * endpoints (exact float64 pairs, or merged transitively within `snap_m` geodesic metres and standing at the
 * member with the smallest (lon, lat)), numbered 1.. in (lon, lat) order; an edge runs from its first to its
 * last coordinate, `cost` missing is its geodesic length in metres, `reverse_cost` missing equals `cost`, and a
 * negative one is a direction that cannot be travelled. Components are weakly connected over the usable edges.
 *
 * The directed edges are then cut into blocks, one per H3 cell of the vertices (the finest resolution from
 * `baseResolution` on whose largest block stays within `maxBlockVertices`), each a compressed-sparse-row
 * adjacency: what a partition loads when a search reaches it (see block_codec.ts).
 */
import { latLngToCell } from "h3-js";
import { pointDistance } from "../../wasm/geodesic.ts";

/** One edge as published: its line (interleaved lon/lat, ≥ 2 points) and its two costs (already defaulted). */
export interface NetworkEdge {
  xy: Float64Array;
  cost: number;
  reverse_cost: number;
}

/** One block's vertices and the directed edges leaving them. */
export interface NetworkBlock {
  cell: string;
  /** pgRouting vertex id of each local vertex, ascending. */
  vertexIds: Uint32Array;
  /** Interleaved lon/lat of each local vertex. */
  lonlat: Float64Array;
  /** CSR: the edges leaving local vertex i are `offsets[i] .. offsets[i + 1]`. */
  offsets: Uint32Array;
  /** Each directed edge's head as a packed vertex reference (`block << shift | local`). */
  targets: Uint32Array;
  costs: Float64Array;
  /** Each directed edge's line in travel direction: points `geomOffsets[e] .. geomOffsets[e + 1]` of `geomXY`. */
  geomOffsets: Uint32Array;
  geomXY: Float64Array;
  bbox: [number, number, number, number];
}

export interface NetworkTopology {
  vertex_count: number;
  edge_count: number;
  component_count: number;
  /** H3 resolution of the blocks. */
  resolution: number;
  /** Bits of a packed vertex reference that hold the local index. */
  shift: number;
  /** Blocks in ascending cell order (a packed reference's block is its index here). */
  blocks: NetworkBlock[];
}

/** Geodesic length in metres of a line (GeographicLib on WGS84, as `ST_Length(geom::geography)`). */
export function lineLength(xy: Float64Array): number {
  let length = 0;
  for (let i = 2; i < xy.length; i += 2) length += pointDistance(xy[i - 2]!, xy[i - 1]!, xy[i]!, xy[i + 1]!);
  return length;
}

/** Metres per degree of longitude along a parallel at latitude 0, a bound the snapping sweep divides by. */
const METRES_PER_DEGREE_LON_EQUATOR = 111_319;
const MIN_METRES_PER_DEGREE_LAT = 110_574;

/** Each edge's two endpoints, interleaved: first lon, first lat, last lon, last lat (endpoint `e` at `2e`). */
export function edgeEnds(edges: readonly NetworkEdge[]): Float64Array {
  const ends = new Float64Array(edges.length * 4);
  edges.forEach((edge, i) => {
    const last = edge.xy.length - 2;
    ends.set([edge.xy[0]!, edge.xy[1]!, edge.xy[last]!, edge.xy[last + 1]!], 4 * i);
  });
  return ends;
}

/**
 * Vertex numbering from the edges' endpoints ({@link edgeEnds}): each edge's source and target vertex index
 * (0-based; id = index + 1) and the vertices' coordinates. Typed arrays only, so a million edges fit a Durable
 * Object's memory.
 */
export function numberVertices(
  ends: Float64Array,
  snapM: number,
): { source: Uint32Array; target: Uint32Array; lonlat: Float64Array } {
  const n = ends.length / 2;
  const edgeCount = n / 2;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ends[2 * a]! - ends[2 * b]! || ends[2 * a + 1]! - ends[2 * b + 1]!);
  // Distinct points in (lon, lat) order, and each endpoint's distinct point.
  const pointOf = new Uint32Array(n);
  let points = 0;
  for (let k = 0; k < n; k++) {
    const e = order[k]!, p = order[k - 1]!;
    if (k === 0 || ends[2 * e] !== ends[2 * p] || ends[2 * e + 1] !== ends[2 * p + 1]) points++;
    pointOf[e] = points - 1;
  }
  const px = new Float64Array(points);
  const py = new Float64Array(points);
  for (let e = 0; e < n; e++) px[pointOf[e]!] = ends[2 * e]!, py[pointOf[e]!] = ends[2 * e + 1]!;
  const root = unionFind(points);
  if (snapM > 0) {
    const maxAbsLat = Math.min(
      90,
      py.reduce((m, y) => Math.max(m, Math.abs(y)), 0) + snapM / MIN_METRES_PER_DEGREE_LAT,
    );
    const cos = Math.cos((maxAbsLat * Math.PI) / 180);
    const lonWindow = cos < 1e-9 ? 360 : snapM / (METRES_PER_DEGREE_LON_EQUATOR * cos * 0.99);
    const latWindow = snapM / MIN_METRES_PER_DEGREE_LAT;
    for (let i = 0; i < points; i++) {
      for (let j = i + 1; j < points && px[j]! - px[i]! <= lonWindow; j++) {
        if (Math.abs(py[j]! - py[i]!) > latWindow) continue;
        if (pointDistance(px[i]!, py[i]!, px[j]!, py[j]!) <= snapM) root.union(i, j);
      }
    }
  }
  // A merged vertex stands at its smallest member (the union keeps the smaller index as the root).
  const idOfPoint = new Int32Array(points).fill(-1);
  let vertices = 0;
  for (let i = 0; i < points; i++) if (root.find(i) === i) idOfPoint[i] = vertices++;
  const lonlat = new Float64Array(vertices * 2);
  for (let i = 0; i < points; i++) {
    const v = idOfPoint[i]!;
    if (v >= 0) lonlat[2 * v] = px[i]!, lonlat[2 * v + 1] = py[i]!;
  }
  const source = new Uint32Array(edgeCount);
  const target = new Uint32Array(edgeCount);
  for (let i = 0; i < edgeCount; i++) {
    source[i] = idOfPoint[root.find(pointOf[2 * i]!)]!;
    target[i] = idOfPoint[root.find(pointOf[2 * i + 1]!)]!;
  }
  return { source, target, lonlat };
}

/** Weakly connected components over the edges that can be travelled in at least one direction. */
export function countComponents(
  vertexCount: number,
  source: Uint32Array,
  target: Uint32Array,
  usable: (edge: number) => boolean,
): number {
  const components = unionFind(vertexCount);
  for (let i = 0; i < source.length; i++) if (usable(i)) components.union(source[i]!, target[i]!);
  let count = 0;
  for (let v = 0; v < vertexCount; v++) if (components.find(v) === v) count++;
  return count;
}

/** Where each vertex goes: the blocks' cells (ascending), each block's vertices, each vertex's packed reference. */
export interface BlockLayout {
  resolution: number;
  shift: number;
  cells: string[];
  /** The vertices of block b are `members[starts[b] .. starts[b + 1]]`, ascending. */
  starts: Uint32Array;
  members: Uint32Array;
  /** Each vertex's packed reference `block << shift | local`. */
  ref: Uint32Array;
}

export function blockLayout(lonlat: Float64Array, baseResolution: number, maxBlockVertices: number): BlockLayout {
  const vertexCount = lonlat.length / 2;
  const { resolution, cells, blockOf } = blockCells(lonlat, baseResolution, maxBlockVertices);
  const starts = new Uint32Array(cells.length + 1);
  for (let v = 0; v < vertexCount; v++) starts[blockOf[v]! + 1]!++;
  for (let b = 0; b < cells.length; b++) starts[b + 1]! += starts[b]!;
  const members = new Uint32Array(vertexCount);
  const filled = starts.slice(0, cells.length);
  for (let v = 0; v < vertexCount; v++) members[filled[blockOf[v]!]!++] = v;
  let largest = 1;
  for (let b = 0; b < cells.length; b++) largest = Math.max(largest, starts[b + 1]! - starts[b]!);
  const shift = Math.max(1, Math.ceil(Math.log2(largest)));
  if (cells.length > 2 ** (32 - shift)) throw new RangeError(`${cells.length} blocks do not fit a 32-bit reference`);
  const ref = blockOf; // reused in place: each vertex's block becomes its packed reference
  for (let b = 0; b < cells.length; b++) {
    for (let k = starts[b]!; k < starts[b + 1]!; k++) ref[members[k]!] = ((b << shift) | (k - starts[b]!)) >>> 0;
  }
  return { resolution, shift, cells, starts, members, ref };
}

/** A directed edge leaving a vertex: its head vertex index, cost and line (reversed: read from last to first). */
export interface Direction {
  head: number;
  cost: number;
  xy: Float64Array;
  reversed: boolean;
}

/** One block's CSR arrays from its vertices (ascending) and the directions leaving each, in edge order. */
export function buildBlock(
  cell: string,
  vs: Uint32Array,
  lonlat: Float64Array,
  ref: Uint32Array,
  leaving: (v: number) => readonly Direction[],
): NetworkBlock {
  const n = vs.length;
  const offsets = new Uint32Array(n + 1);
  let points = 0;
  vs.forEach((v, i) => {
    const out = leaving(v);
    offsets[i + 1] = offsets[i]! + out.length;
    for (const d of out) points += d.xy.length / 2;
  });
  const m = offsets[n]!;
  const targets = new Uint32Array(m);
  const costs = new Float64Array(m);
  const geomOffsets = new Uint32Array(m + 1);
  const geomXY = new Float64Array(points * 2);
  const vertexLonlat = new Float64Array(n * 2);
  const bbox: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  let e = 0;
  vs.forEach((v, i) => {
    const x = lonlat[2 * v]!, y = lonlat[2 * v + 1]!;
    vertexLonlat[2 * i] = x, vertexLonlat[2 * i + 1] = y;
    bbox[0] = Math.min(bbox[0], x), bbox[1] = Math.min(bbox[1], y);
    bbox[2] = Math.max(bbox[2], x), bbox[3] = Math.max(bbox[3], y);
    for (const { head, cost, xy, reversed } of leaving(v)) {
      targets[e] = ref[head]!;
      costs[e] = cost;
      const start = geomOffsets[e]!;
      const count = xy.length / 2;
      for (let p = 0; p < count; p++) {
        const from = reversed ? count - 1 - p : p;
        geomXY[2 * (start + p)] = xy[2 * from]!;
        geomXY[2 * (start + p) + 1] = xy[2 * from + 1]!;
      }
      geomOffsets[++e] = start + count;
    }
  });
  return {
    cell,
    vertexIds: Uint32Array.from(vs, (v) => v + 1),
    lonlat: vertexLonlat,
    offsets,
    targets,
    costs,
    geomOffsets,
    geomXY,
    bbox,
  };
}

/** Builds the whole topology in memory (one request's network): vertices, components and the blocks. */
export function buildTopology(
  edges: readonly NetworkEdge[],
  options: { snapM: number; baseResolution: number; maxBlockVertices: number },
): NetworkTopology {
  const { source, target, lonlat } = numberVertices(edgeEnds(edges), options.snapM);
  const vertexCount = lonlat.length / 2;
  const componentCount = countComponents(
    vertexCount,
    source,
    target,
    (i) => edges[i]!.cost >= 0 || edges[i]!.reverse_cost >= 0,
  );
  const layout = blockLayout(lonlat, options.baseResolution, options.maxBlockVertices);
  // Directed edges grouped by their tail vertex (self-loops never shorten a path: left out).
  const leaving: Direction[][] = Array.from({ length: vertexCount }, () => []);
  edges.forEach((edge, i) => {
    const s = source[i]!, t = target[i]!;
    if (s === t) return;
    if (edge.cost >= 0) leaving[s]!.push({ head: t, cost: edge.cost, xy: edge.xy, reversed: false });
    if (edge.reverse_cost >= 0) leaving[t]!.push({ head: s, cost: edge.reverse_cost, xy: edge.xy, reversed: true });
  });
  const blocks = layout.cells.map((cell, b) =>
    buildBlock(
      cell,
      layout.members.subarray(layout.starts[b]!, layout.starts[b + 1]!),
      lonlat,
      layout.ref,
      (v) => leaving[v]!,
    )
  );
  return {
    vertex_count: vertexCount,
    edge_count: edges.length,
    component_count: componentCount,
    resolution: layout.resolution,
    shift: layout.shift,
    blocks,
  };
}

/** The H3 resolution of the blocks, their cells (ascending) and each vertex's block index. */
function blockCells(
  lonlat: Float64Array,
  baseResolution: number,
  maxBlockVertices: number,
): { resolution: number; cells: string[]; blockOf: Uint32Array } {
  const count = lonlat.length / 2;
  const blockOf = new Uint32Array(count);
  for (let resolution = baseResolution;; resolution++) {
    // Cells are numbered in first-seen order, then renumbered in ascending cell order.
    const indexOf = new Map<string, number>();
    const sizes: number[] = [];
    for (let v = 0; v < count; v++) {
      const cell = latLngToCell(lonlat[2 * v + 1]!, lonlat[2 * v]!, resolution);
      let index = indexOf.get(cell);
      if (index === undefined) indexOf.set(cell, index = sizes.push(0) - 1);
      sizes[index]!++;
      blockOf[v] = index;
    }
    if (resolution === 15 || sizes.reduce((m, s) => Math.max(m, s), 0) <= maxBlockVertices) {
      const cells = [...indexOf.keys()].sort();
      const rank = new Uint32Array(cells.length);
      cells.forEach((cell, r) => rank[indexOf.get(cell)!] = r);
      for (let v = 0; v < count; v++) blockOf[v] = rank[blockOf[v]!]!;
      return { resolution, cells, blockOf };
    }
  }
}

/** Union-find whose root is always the smallest member. */
function unionFind(n: number) {
  const parent = Uint32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r]!;
    while (parent[i] !== r) [i, parent[i]] = [parent[i]!, r];
    return r;
  };
  return {
    find,
    union(a: number, b: number) {
      const [ra, rb] = [find(a), find(b)];
      if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
    },
  };
}
