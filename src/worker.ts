/**
 * The edge Worker: the only default export. HTTP goes to the Hono app; the
 * Durable Object classes are re-exported for the runtime.
 */
// First, before any module that imports h3-js evaluates.
import "../shared/h3_heap.ts";
import { createApp } from "./app.ts";
import { datasetService } from "./routes/datasets.ts";
import { datasetUploadService } from "./routes/dataset_uploads.ts";
import { jobService } from "./routes/jobs.ts";
import { opsService } from "./routes/ops.ts";
import { ogcJobIndex } from "./routes/ogc.ts";
import { sweepStalledJobs } from "./cron/sweep.ts";
import { collectStaging } from "./cron/collect_staging.ts";
import { collectInputs } from "./cron/collect_inputs.ts";
import { setLogLevel } from "../shared/telemetry/log.ts";
import { loadGeometryCore } from "../wasm/mod.ts";
import { workerdWasmModules } from "../wasm/workerd_modules.js";
import { config } from "../shared/config.ts";

export { PartitionLedger } from "../durable-objects/partition_ledger/mod.ts";
export { DatasetCatalog } from "../durable-objects/dataset_catalog/mod.ts";
export { DatasetDirectory } from "../durable-objects/dataset_directory/mod.ts";
export { IdempotencyRegistry } from "../durable-objects/idempotency_registry/mod.ts";
export { LiveWorkIndex } from "../durable-objects/live_work_index/mod.ts";
export { WebhookBreaker } from "../durable-objects/webhook_breaker/mod.ts";
export { WebhookOutbox } from "../durable-objects/webhook_outbox/mod.ts";

const app = createApp({
  jobs: jobService,
  datasets: datasetService,
  datasetUploads: datasetUploadService,
  ops: opsService,
  ogcJobs: ogcJobIndex,
  checkGeometryCore: async () => void await loadGeometryCore(workerdWasmModules),
});

export default {
  fetch(request, env, ctx) {
    setLogLevel(config(env).LOG_LEVEL);
    return app.fetch(request, env, ctx);
  },
  scheduled(_controller, env, ctx) {
    setLogLevel(config(env).LOG_LEVEL);
    ctx.waitUntil(Promise.all([sweepStalledJobs(env), collectStaging(env), collectInputs(env)]));
  },
} satisfies ExportedHandler<Env>;
