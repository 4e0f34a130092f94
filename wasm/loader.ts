/**
 * The only module that knows about Emscripten: brings up the geos-wasm glue
 * from precompiled WebAssembly modules, so it works where compiling
 * WebAssembly from bytes is forbidden (workerd) and in Deno alike.
 *
 * Three assumptions of the glue are handled here and nowhere else:
 * 1. it compiles its embedded binary at run time: we give its Module object an
 *    `instantiateWasm` that uses the precompiled GEOS module instead (the
 *    build step strips the embedded copy and exports that object);
 * 2. in a worker scope it reads `self.location.href` to find its own URL:
 *    a placeholder `location` exists for the duration of the start-up only;
 * 3. `addFunction` compiles a trampoline module per JS callback (GEOS's
 *    error and notice handlers): ours instantiates the precompiled `vii` one.
 */
import initGeosJs, { type GeosNamespace, geosNamespace } from "./generated/geos_glue.mjs";

export type { GeosNamespace };

export interface GeosWasmModules {
  /** The GEOS binary, compiled (`wasm/generated/geos.wasm`). */
  geos: WebAssembly.Module;
  /** The `vii` callback trampoline, compiled (`wasm/generated/trampoline_vii.wasm`). */
  trampolineVii: WebAssembly.Module;
}

/** Receives GEOS's messages; the failing GEOS call then returns its failure value. */
export interface GeosMessageSink {
  onError(message: string): void;
  onNotice(message: string): void;
}

let loading: Promise<GeosNamespace> | undefined;

/** Instantiates GEOS once per isolate; later calls return the same instance. */
export function loadGeosNamespace(modules: GeosWasmModules, sink: GeosMessageSink): Promise<GeosNamespace> {
  loading ??= instantiate(modules, sink).catch((error) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function instantiate(modules: GeosWasmModules, sink: GeosMessageSink): Promise<GeosNamespace> {
  let table: WebAssembly.Table | undefined;
  const addFunction = (callback: (...args: number[]) => void, signature: string): number => {
    if (signature !== "vii") throw new TypeError(`No precompiled trampoline for signature "${signature}"`);
    if (!table) throw new Error("GEOS asked for a callback before its module was instantiated");
    const trampoline = new WebAssembly.Instance(modules.trampolineVii, { e: { f: callback } });
    const index = table.grow(1);
    table.set(index, trampoline.exports.f as CallableFunction);
    return index;
  };

  const module = geosNamespace.Module;
  module.instantiateWasm = (
    imports: WebAssembly.Imports,
    onReady: (instance: WebAssembly.Instance) => void,
  ): WebAssembly.Exports => {
    const instance = new WebAssembly.Instance(modules.geos, imports);
    table = Object.values(instance.exports).find((e): e is WebAssembly.Table => e instanceof WebAssembly.Table);
    if (!table) throw new Error("The GEOS module exports no function table");
    onReady(instance);
    return instance.exports;
  };
  // The glue assigns its own addFunction during start-up; ours must win.
  Object.defineProperty(module, "addFunction", { get: () => addFunction, set: () => {}, configurable: true });

  const restoreLocation = withPlaceholderLocation();
  try {
    return await initGeosJs({
      errorHandler: (message) => sink.onError(message),
      noticeHandler: (message) => sink.onNotice(message),
    });
  } finally {
    restoreLocation();
  }
}

function withPlaceholderLocation(): () => void {
  const scope = globalThis as { location?: unknown };
  if (scope.location !== undefined) return () => {};
  Object.defineProperty(scope, "location", { value: { href: "https://geos.invalid/" }, configurable: true });
  return () => {
    delete scope.location;
  };
}
