/** A createApp() under test: handlers that record every call. */
import { createApp, type Handlers } from "../../../src/app.ts";
import type { JobStatus } from "../../../shared/contract/status.ts";

export const STATUS: JobStatus = {
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

export function recordingApp(overrides: Partial<Handlers> = {}) {
  const calls: { method: string; args: unknown[] }[] = [];
  const rec = <T>(method: string, value: T) => (_c: unknown, ...args: unknown[]) => {
    calls.push({ method, args });
    return Promise.resolve(value);
  };
  const handlers: Handlers = {
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
    ...overrides,
  };
  return { app: createApp(handlers), calls };
}
