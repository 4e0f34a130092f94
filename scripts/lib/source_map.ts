/**
 * Just enough of source maps (v3, base64 VLQ `mappings`) to turn a bundle position into the original
 * file and line, for naming functions in CPU profiles.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export interface SourcePosition {
  /** Project-relative path, or `package/path` for anything under node_modules. */
  source: string;
  /** 0-based, like `column`. */
  line: number;
  column: number;
}

/** Per generated line: segments [generatedColumn, sourceIndex, sourceLine, sourceColumn], by column. */
type LineSegments = [number, number, number, number][];

interface DecodedMap {
  sources: string[];
  lines: LineSegments[];
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

/** Decodes a v3 `mappings` string into, per generated line, the segments that name a source. */
export function decodeMappings(mappings: string): LineSegments[] {
  const lines: LineSegments[] = [];
  let sourceIndex = 0, sourceLine = 0, sourceColumn = 0;
  for (const lineText of mappings.split(";")) {
    const segments: LineSegments = [];
    let column = 0;
    for (const segment of lineText.split(",")) {
      if (!segment) continue;
      const fields: number[] = [];
      let value = 0, shift = 0;
      for (const char of segment) {
        const digit = DIGIT.get(char);
        if (digit === undefined) throw new Error(`Bad source map character ${char}`);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = shift = 0;
        }
      }
      column += fields[0] ?? 0;
      if (fields.length >= 4) {
        sourceIndex += fields[1]!;
        sourceLine += fields[2]!;
        sourceColumn += fields[3]!;
        segments.push([column, sourceIndex, sourceLine, sourceColumn]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

/** The original position of generated (line, column), both 0-based: the last segment at or before it on its line. */
export function lookup(lines: LineSegments[], line: number, column: number): [number, number, number] | undefined {
  const segments = lines[line];
  if (!segments?.length) return undefined;
  let lo = 0, hi = segments.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segments[mid]![0] <= column) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const segment = segments[found < 0 ? 0 : found]!;
  return [segment[1], segment[2], segment[3]];
}

/**
 * `absolute` relative to `root`; for a file outside it (a symlinked directory such as wasm/generated that
 * the bundler resolved to its target), the longest trailing part of its path that exists under `root`.
 */
function projectRelative(root: string, absolute: string): string {
  const path = relative(root, absolute);
  if (!path.startsWith("..")) return path;
  const parts = absolute.split("/");
  for (let i = 1; i < parts.length; i++) {
    const tail = parts.slice(i).join("/");
    if (existsSync(join(root, tail))) return tail;
  }
  return absolute;
}

/**
 * A resolver for bundle call frames: `bundleFile(url)` names the bundle file behind a frame's URL; its
 * `//# sourceMappingURL` map is read once. Original paths are made relative to `projectRoot`.
 */
export function sourceResolverFor(
  bundleFile: (url: string) => string | undefined,
  projectRoot: string,
): (frame: { url: string; lineNumber: number; columnNumber: number }) => SourcePosition | undefined {
  const maps = new Map<string, DecodedMap | null>();
  const load = (url: string): DecodedMap | null => {
    const file = bundleFile(url);
    if (!file || !existsSync(file)) return null;
    const tail = readFileSync(file, "utf8").slice(-4096);
    const ref = tail.match(/\/\/# sourceMappingURL=(\S+)\s*$/)?.[1];
    if (!ref || ref.startsWith("data:")) return null;
    const mapFile = resolve(dirname(file), ref);
    if (!existsSync(mapFile)) return null;
    const raw = JSON.parse(readFileSync(mapFile, "utf8")) as {
      sources: string[];
      sourceRoot?: string;
      mappings: string;
    };
    const base = resolve(dirname(mapFile), raw.sourceRoot ?? "");
    const sources = raw.sources.map((s) => {
      const absolute = resolve(base, s);
      const modules = absolute.lastIndexOf("/node_modules/");
      if (modules >= 0) return absolute.slice(modules + "/node_modules/".length);
      return projectRelative(projectRoot, absolute);
    });
    return { sources, lines: decodeMappings(raw.mappings) };
  };
  return (frame) => {
    let map = maps.get(frame.url);
    if (map === undefined) {
      try {
        map = load(frame.url);
      } catch {
        map = null;
      }
      maps.set(frame.url, map);
    }
    if (!map) return undefined;
    const hit = lookup(map.lines, frame.lineNumber, frame.columnNumber);
    return hit ? { source: map.sources[hit[0]] ?? "?", line: hit[1], column: hit[2] } : undefined;
  };
}
