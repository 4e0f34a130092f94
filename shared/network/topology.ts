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

/**
 * Vertex numbering: each endpoint's vertex index (0-based; id = index + 1) and the vertices' coordinates.
 */
export function numberVertices(
  edges: readonly NetworkEdge[],
  snapM: number,
): { source: Uint32Array; target: Uint32Array; lonlat: Float64Array } {
  const n = edges.length * 2;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  edges.forEach((edge, i) => {
    const last = edge.xy.length - 2;
    xs[2 * i] = edge.xy[0]!;
    ys[2 * i] = edge.xy[1]!;
    xs[2 * i + 1] = edge.xy[last]!;
    ys[2 * i + 1] = edge.xy[last + 1]!;
  });
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => xs[a]! - xs[b]! || ys[a]! - ys[b]!);
  // Distinct points in (lon, lat) order, and each endpoint's distinct point.
  const pointOf = new Uint32Array(n);
  const px: number[] = [];
  const py: number[] = [];
  for (const e of order) {
    const k = px.length - 1;
    if (k < 0 || px[k] !== xs[e] || py[k] !== ys[e]) {
      px.push(xs[e]!);
      py.push(ys[e]!);
    }
    pointOf[e] = px.length - 1;
  }
  const points = px.length;
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
  const lonlat: number[] = [];
  for (let i = 0; i < points; i++) {
    if (root.find(i) !== i) continue;
    idOfPoint[i] = lonlat.length / 2;
    lonlat.push(px[i]!, py[i]!);
  }
  const source = new Uint32Array(edges.length);
  const target = new Uint32Array(edges.length);
  for (let i = 0; i < edges.length; i++) {
    source[i] = idOfPoint[root.find(pointOf[2 * i]!)]!;
    target[i] = idOfPoint[root.find(pointOf[2 * i + 1]!)]!;
  }
  return { source, target, lonlat: Float64Array.from(lonlat) };
}

/** Builds the whole topology: vertices, components and the blocks. */
export function buildTopology(
  edges: readonly NetworkEdge[],
  options: { snapM: number; baseResolution: number; maxBlockVertices: number },
): NetworkTopology {
  const { source, target, lonlat } = numberVertices(edges, options.snapM);
  const vertexCount = lonlat.length / 2;
  const components = unionFind(vertexCount);
  edges.forEach((edge, i) => {
    if (edge.cost >= 0 || edge.reverse_cost >= 0) components.union(source[i]!, target[i]!);
  });
  let componentCount = 0;
  for (let v = 0; v < vertexCount; v++) if (components.find(v) === v) componentCount++;

  const { resolution, cellOf } = blockCells(lonlat, options.baseResolution, options.maxBlockVertices);
  const cells = [...new Set(cellOf)].sort();
  const blockOfCell = new Map(cells.map((c, i) => [c, i]));
  const members: number[][] = cells.map(() => []);
  for (let v = 0; v < vertexCount; v++) members[blockOfCell.get(cellOf[v]!)!]!.push(v);
  const largest = members.reduce((max, m) => Math.max(max, m.length), 1);
  const shift = Math.max(1, Math.ceil(Math.log2(largest)));
  if (cells.length > 2 ** (32 - shift)) throw new RangeError(`${cells.length} blocks do not fit a 32-bit reference`);
  const ref = new Uint32Array(vertexCount);
  members.forEach((vs, b) => vs.forEach((v, local) => ref[v] = ((b << shift) | local) >>> 0));

  // Directed edges grouped by their tail vertex (self-loops never shorten a path: left out).
  const outDegree = new Uint32Array(vertexCount);
  const directions: [number, number, number, number, boolean][] = []; // tail, head, cost, edge, reversed
  edges.forEach((edge, i) => {
    const s = source[i]!, t = target[i]!;
    if (s === t) return;
    if (edge.cost >= 0) directions.push([s, t, edge.cost, i, false]);
    if (edge.reverse_cost >= 0) directions.push([t, s, edge.reverse_cost, i, true]);
  });
  for (const [tail] of directions) outDegree[tail]!++;
  const byTail: number[][] = Array.from({ length: vertexCount }, () => []);
  directions.forEach((d, k) => byTail[d[0]]!.push(k));

  const blocks = members.map((vs, b): NetworkBlock => {
    const n = vs.length;
    const offsets = new Uint32Array(n + 1);
    vs.forEach((v, i) => offsets[i + 1] = offsets[i]! + outDegree[v]!);
    const m = offsets[n]!;
    const targets = new Uint32Array(m);
    const costs = new Float64Array(m);
    const geomOffsets = new Uint32Array(m + 1);
    let points = 0;
    for (const v of vs) for (const k of byTail[v]!) points += edges[directions[k]![3]]!.xy.length / 2;
    const geomXY = new Float64Array(points * 2);
    const bbox: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
    let e = 0;
    vs.forEach((v) => {
      const x = lonlat[2 * v]!, y = lonlat[2 * v + 1]!;
      bbox[0] = Math.min(bbox[0], x), bbox[1] = Math.min(bbox[1], y);
      bbox[2] = Math.max(bbox[2], x), bbox[3] = Math.max(bbox[3], y);
      for (const k of byTail[v]!) {
        const [, head, cost, edgeIndex, reversed] = directions[k]!;
        targets[e] = ref[head]!;
        costs[e] = cost;
        const xy = edges[edgeIndex]!.xy;
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
      cell: cells[b]!,
      vertexIds: Uint32Array.from(vs, (v) => v + 1),
      lonlat: Float64Array.from(vs.flatMap((v) => [lonlat[2 * v]!, lonlat[2 * v + 1]!])),
      offsets,
      targets,
      costs,
      geomOffsets,
      geomXY,
      bbox,
    };
  });
  return {
    vertex_count: vertexCount,
    edge_count: edges.length,
    component_count: componentCount,
    resolution,
    shift,
    blocks,
  };
}

/** The H3 resolution of the blocks and each vertex's cell at it. */
function blockCells(
  lonlat: Float64Array,
  baseResolution: number,
  maxBlockVertices: number,
): { resolution: number; cellOf: string[] } {
  const count = lonlat.length / 2;
  for (let resolution = baseResolution;; resolution++) {
    const cellOf = Array.from(
      { length: count },
      (_, v) => latLngToCell(lonlat[2 * v + 1]!, lonlat[2 * v]!, resolution),
    );
    const sizes = new Map<string, number>();
    for (const c of cellOf) sizes.set(c, (sizes.get(c) ?? 0) + 1);
    if (resolution === 15 || Math.max(0, ...sizes.values()) <= maxBlockVertices) return { resolution, cellOf };
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
