/**
 * One instance per caller (token `sub`): the single place that decides
 * whether a submission with an idempotency key starts a job. A Durable Object
 * handles one request at a time and its storage survives restarts, so two
 * racing submits with the same key cannot both start a computation, whatever
 * partitions they target. One object per caller rather than per key: a new
 * key is a row, not a new object with its own database.
 */
import { DurableObject } from "cloudflare:workers";
import type { JobSpec } from "../../shared/job_spec.ts";
import { type IndexedJob, JobIndex } from "./job_index.ts";

export type ClaimOutcome =
  | { outcome: "claimed"; spec: JobSpec }
  | { outcome: "existing"; spec: JobSpec }
  | { outcome: "conflict"; job_id: string };

export class IdempotencyRegistry extends DurableObject<Env> {
  /** The claims table and the job index, created by the first claim: a read on a caller with none writes nothing. */
  #schema(): JobIndex {
    this.ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS claims_by_key (
         idempotency_key TEXT PRIMARY KEY,
         request_hash TEXT NOT NULL,
         spec TEXT NOT NULL,
         claimed_at INTEGER NOT NULL
       )`,
    );
    return this.#index ??= new JobIndex(this.ctx.storage.sql);
  }
  #index: JobIndex | undefined;

  /** Claims `key` for `spec`, or returns the job it already belongs to. */
  claim(key: string, spec: JobSpec): ClaimOutcome {
    const index = this.#schema();
    const row = this.ctx.storage.sql.exec<{ request_hash: string; spec: string }>(
      `SELECT request_hash, spec FROM claims_by_key WHERE idempotency_key = ?`,
      key,
    ).toArray()[0];
    if (row) {
      const existing = JSON.parse(row.spec) as JobSpec;
      return row.request_hash === spec.request_hash
        ? { outcome: "existing", spec: existing }
        : { outcome: "conflict", job_id: existing.job_id };
    }
    this.ctx.storage.sql.exec(
      `INSERT INTO claims_by_key (idempotency_key, request_hash, spec, claimed_at) VALUES (?, ?, ?, ?)`,
      key,
      spec.request_hash,
      JSON.stringify(spec),
      Date.now(),
    );
    index.add(spec.job_id);
    return { outcome: "claimed", spec };
  }

  /** The caller's jobs older than `beforeSeq` (null: from the newest), newest first. */
  jobs(beforeSeq: number | null, limit: number): IndexedJob[] {
    const exists = this.ctx.storage.sql.exec(
      `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims_by_key'`,
    ).toArray().length > 0;
    return exists ? this.#schema().page(beforeSeq, limit) : [];
  }
}
