/**
 * The layering, checked on the real module graph (`deno info --json src/worker.ts`):
 *
 *   wasm/  ←  shared/  ←  operations/  ←  durable-objects/  and  src/
 *
 * wasm/ imports only itself; shared/ imports wasm/; operations/ imports shared/ and wasm/;
 * durable-objects/ and src/ import operations/, shared/ and wasm/, and src/ imports durable-objects/
 * only for the classes src/worker.ts re-exports and, elsewhere, as types (RPC stubs). npm packages are open to every layer.
 * No cycle among local modules.
 */
import { deepEqual } from "node:assert/strict";

const ROOT = new URL("../../../", import.meta.url).href;
const ENTRY = "src/worker.ts";
const LAYERS = ["wasm", "shared", "operations", "durable-objects", "src"] as const;
type Layer = typeof LAYERS[number];

const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  wasm: ["wasm"],
  shared: ["shared", "wasm"],
  operations: ["operations", "shared", "wasm"],
  "durable-objects": ["durable-objects", "operations", "shared", "wasm"],
  src: ["src", "operations", "shared", "wasm"],
};

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

interface InfoDependency {
  code?: { specifier: string };
  type?: { specifier: string };
}

interface Info {
  modules: { specifier: string; dependencies?: InfoDependency[] }[];
}

/** Repository-relative path of a local module, or null for npm, jsr and generated ambient types. */
function local(specifier: string): string | null {
  if (!specifier.startsWith(ROOT)) return null;
  const path = specifier.slice(ROOT.length);
  return path === "worker-configuration.d.ts" ? null : path;
}

function layerOf(path: string): Layer | null {
  const top = path.split("/")[0];
  return (LAYERS as readonly string[]).includes(top!) ? top as Layer : null;
}

async function localEdges(): Promise<Edge[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", ENTRY],
    cwd: new URL(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as Info;
  const edges: Edge[] = [];
  for (const module of info.modules) {
    const from = local(module.specifier);
    if (!from) continue;
    for (const dep of module.dependencies ?? []) {
      const targets = new Set([dep.code?.specifier, dep.type?.specifier].filter((s) => s !== undefined));
      for (const target of targets) {
        const to = local(target);
        if (to) edges.push({ from, to, typeOnly: dep.code === undefined });
      }
    }
  }
  return edges;
}

/** Why an edge breaks the layering, or null when it is allowed. */
function violation({ from, to, typeOnly }: Edge): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a || !b) return `${from} -> ${to}: module outside the layers`;
  if (MAY_IMPORT[a].includes(b)) return null;
  if (a === "src" && b === "durable-objects" && (from === ENTRY || typeOnly)) return null;
  return `${from} -> ${to}${typeOnly ? " (type)" : ""}: ${a}/ may not import ${b}/`;
}

/** Every cycle found by a depth-first walk, each as the path that closes it. */
function cycles(edges: Edge[]): string[] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...next.get(from) ?? [], to]);
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const found: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const to of [...new Set(next.get(node) ?? [])].sort()) {
      if (state.get(to) === "open") found.push([...stack.slice(stack.indexOf(to)), to].join(" -> "));
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...next.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

const edges = await localEdges();

Deno.test("the local module graph from src/worker.ts reaches every layer", () => {
  const reached = new Set(edges.flatMap((e) => [layerOf(e.from), layerOf(e.to)]));
  deepEqual(LAYERS.filter((layer) => !reached.has(layer)), []);
});

Deno.test("no module imports across the layering (wasm ← shared ← operations ← durable-objects, src)", () => {
  deepEqual(edges.map(violation).filter((v) => v !== null), []);
});

Deno.test("no import cycle among local modules", () => {
  deepEqual(cycles(edges), []);
});
