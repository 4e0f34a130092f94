import type { GeosWasmModules } from "./loader.ts";

export declare const workerdWasmModules: GeosWasmModules;
