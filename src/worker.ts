/**
 * The edge Worker: the only default export. HTTP goes to the Hono app; the
 * Durable Object classes are re-exported for the runtime.
 */
import { createApp } from "./app.ts";
import { datasetHandlers } from "./routes/datasets.ts";
import { jobHandlers } from "./routes/jobs.ts";
import { loadGeometryCore } from "../wasm/mod.ts";
import { workerdWasmModules } from "../wasm/workerd_modules.js";

export { PartitionLedger } from "../durable-objects/partition_ledger/mod.ts";
export { DatasetCatalog } from "../durable-objects/dataset_catalog/mod.ts";
export { IdempotencyRegistry } from "../durable-objects/idempotency_registry/mod.ts";

const app = createApp<Env>({
  ...jobHandlers,
  ...datasetHandlers,
  checkHealth: async () => void await loadGeometryCore(workerdWasmModules),
});

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
