/**
 * The edge Worker: the only default export. HTTP goes to the Hono app; the
 * Durable Object classes are re-exported for the runtime.
 */
import { createApp } from "./app.ts";
import { datasetHandlers } from "./routes/datasets.ts";
import { jobHandlers } from "./routes/jobs.ts";

export { PartitionLedger } from "../durable-objects/partition_ledger/mod.ts";
export { DatasetCatalog } from "../durable-objects/dataset_catalog/mod.ts";
export { IdempotencyRegistry } from "../durable-objects/idempotency_registry/mod.ts";

const app = createApp<Env>({ ...jobHandlers, ...datasetHandlers });

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
