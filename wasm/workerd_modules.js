// @ts-self-types="./workerd_modules.d.ts"
// The precompiled WebAssembly modules as wrangler bundles them for workerd
// (`CompiledWasm` rule). Plain JS with a types file: `deno check` would
// otherwise resolve the binaries' own imports as ES modules.
import geos from "./generated/geos.wasm";
import trampolineVii from "./generated/trampoline_vii.wasm";

export const workerdWasmModules = { geos, trampolineVii };
