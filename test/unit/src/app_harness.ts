/** The real app composition under test, over services that record every call instead of reaching the DOs. */
import { createApp } from "../../../src/app.ts";
import type { DatasetService } from "../../../src/routes/datasets_app.ts";
import type { DatasetUploadService } from "../../../src/routes/dataset_uploads_app.ts";
import type { JobService } from "../../../src/routes/jobs_app.ts";
import type { OpsService } from "../../../src/routes/ops_app.ts";

declare global {
  /** The Worker's bindings, as far as the HTTP layer reads them (`wrangler types` declares them for src/). */
  interface Env {
    WEBHOOK_SIGNING_KEY?: string;
  }
}
import type { JobStatusDocument } from "../../../shared/contract/status.ts";

export const STATUS: JobStatusDocument = {
  job_id: "j1",
  status: "QUEUED",
  created_at: "2025-01-01T00:00:00.000Z",
  updated_at: "2025-01-01T00:00:00.000Z",
  attempts: 0,
  progress: { partitions_total: 1, partitions_done: 0 },
  degraded: false,
};

export const MANIFEST = {
  name: "d",
  version: 1,
  owner_domain: "transport",
  classification: "internal" as const,
  feature_count: 1,
  bbox: [0, 0, 1, 1] as [number, number, number, number],
  geometry_types: ["Polygon" as const],
  tiles: [{ cell: "822a17fffffffff", feature_count: 1, bytes: 100 }],
  etag: "v1abc",
};

/** Services of every sub-app, flattened (their method names do not collide). */
export type FakeServices = JobService & DatasetService & DatasetUploadService & OpsService;

export function recordingApp(overrides: Partial<FakeServices> = {}) {
  const calls: { method: string; args: unknown[] }[] = [];
  const rec = <T>(method: string, value: T) => (_c: unknown, ...args: unknown[]) => {
    calls.push({ method, args });
    return Promise.resolve(value);
  };
  const uploadStatus = {
    upload_id: "u1",
    name: "d",
    state: "OPEN" as const,
    created_at: "2025-01-01T00:00:00.000Z",
    expires_at: "2025-01-02T00:00:00.000Z",
    parts: [],
  };
  const s: FakeServices = {
    submitJob: rec("submitJob", { job_id: "j1", status: "QUEUED" as const, created: true }),
    getJob: rec("getJob", STATUS),
    getResult: rec("getResult", {
      body: '{"type":"FeatureCollection","features":[]}',
      format: "geojson" as const,
      etag: "r1",
    }),
    cancelJob: rec("cancelJob", { ...STATUS, status: "CANCELLED" as const }),
    putDataset: rec("putDataset", MANIFEST),
    getDataset: rec("getDataset", { ...MANIFEST, versions: [] }),
    open: rec("open", { upload_id: "u1", expires_at: "2025-01-02T00:00:00.000Z" }),
    putPart: rec("putPart", {
      n: 1,
      feature_count: 1,
      repaired_count: 0,
      bbox: MANIFEST.bbox,
      geometry_types: [],
      tiles: 1,
    }),
    complete: rec("complete", uploadStatus),
    status: rec("status", uploadStatus),
    abort: rec("abort", { ...uploadStatus, state: "ABORTED" as const }),
    listJobs: rec("listJobs", { jobs: [STATUS] }),
    redriveJob: rec("redriveJob", STATUS),
    jobObjects: rec("jobObjects", {}),
    exportEvents: rec("exportEvents", ""),
    metrics: rec("metrics", {}),
    ...overrides,
  };
  const app = createApp({
    jobs: s,
    datasets: s,
    datasetUploads: s,
    ops: s,
    checkGeometryCore: () => Promise.resolve(),
  });
  return { app, calls };
}
