/**
 * One instance per caller (token `sub`): the single place that decides
 * whether a submission with an idempotency key starts a job. A Durable Object
 * handles one request at a time and its storage survives restarts, so two
 * racing submits with the same key cannot both start a computation, whatever
 * partitions they target. One object per caller rather than per key: a new
 * key is a row, not a new object with its own database. The claim also
 * queues the job for its home (handoff.ts): a submit's last round trip; the job is sent on right after.
 *
 * It also holds the caller's submission rate limit, a token bucket in memory (nothing is stored: an evicted
 * instance restarts full, which an idle caller's bucket would be anyway). The claim takes the token before it
 * writes anything, so a refused submit writes nothing and costs no call of its own (src/http/rate_limit.ts).
 */
import { DurableObject } from "cloudflare:workers";
import type { JobSpec } from "../../shared/job_spec.ts";
import { AlarmClock } from "../alarm_clock.ts";
import { Handoff } from "./handoff.ts";
import { type IndexedJob, JobIndex } from "./job_index.ts";
import { type BucketState, type SubmitLimit, type TakeOutcome, takeToken } from "./token_bucket.ts";

/** `pending`: the job surely waits in the outbox, not yet recorded by its home (false: ask the home). */
export type ClaimOutcome =
  | { outcome: "throttled"; retry_after_s: number }
  | { outcome: "claimed" }
  | { outcome: "existing"; spec: JobSpec; pending: boolean }
  | { outcome: "conflict"; job_id: string };

/** A job of the caller's index, with its spec while its home has not recorded it. */
export interface ListedJob extends IndexedJob {
  pending?: JobSpec;
}

export class IdempotencyRegistry extends DurableObject<Env> {
  #bucket: BucketState | undefined;
  #alarm = new AlarmClock(this.ctx.storage);
  /** The delivery running now, and whether rows came due while it ran. */
  #delivering: Promise<void> | null = null;
  #deliverAgain = false;

  /** Takes one token from the caller's submission bucket. */
  take(limit: SubmitLimit): TakeOutcome {
    const { state, outcome } = takeToken(this.#bucket, Date.now(), limit.rate, limit.burst);
    this.#bucket = state;
    return outcome;
  }

  /** The tables, created by the first claim: a read on a caller with none writes nothing. */
  #schema(): { index: JobIndex; handoff: Handoff } {
    if (this.#tables) return this.#tables;
    this.ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS claims_by_key (
         idempotency_key TEXT PRIMARY KEY,
         request_hash TEXT NOT NULL,
         spec TEXT NOT NULL,
         claimed_at INTEGER NOT NULL
       )`,
    );
    return this.#tables = {
      index: new JobIndex(this.ctx.storage.sql),
      handoff: new Handoff(this.ctx.storage.sql),
    };
  }
  #tables: { index: JobIndex; handoff: Handoff } | undefined;

  #exists(): boolean {
    return this.#tables !== undefined || this.ctx.storage.sql.exec(
          `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims_by_key'`,
        ).toArray().length > 0;
  }

  /**
   * Claims `key` for `spec` and queues the job for its home (`held`: once the submit releases it after its
   * upload), or returns the job the key already belongs to. Under `limit`, a token first: refused, nothing is
   * written (a replay takes one too, as every submit does).
   */
  async claim(key: string, spec: JobSpec, held: boolean, limit: SubmitLimit | null): Promise<ClaimOutcome> {
    if (limit) {
      const taken = this.take(limit);
      if (!taken.ok) return { outcome: "throttled", retry_after_s: taken.retry_after_s };
    }
    const { index, handoff } = this.#schema();
    const row = this.ctx.storage.sql.exec<{ request_hash: string; spec: string }>(
      `SELECT request_hash, spec FROM claims_by_key WHERE idempotency_key = ?`,
      key,
    ).toArray()[0];
    if (row) {
      const existing = JSON.parse(row.spec) as JobSpec;
      return row.request_hash === spec.request_hash
        ? { outcome: "existing", spec: existing, pending: handoff.waiting(existing.job_id) }
        : { outcome: "conflict", job_id: existing.job_id };
    }
    const now = Date.now();
    this.ctx.storage.sql.exec(
      `INSERT INTO claims_by_key (idempotency_key, request_hash, spec, claimed_at) VALUES (?, ?, ?, ?)`,
      key,
      spec.request_hash,
      JSON.stringify(spec),
      now,
    );
    index.add(spec.job_id);
    handoff.add(key, spec.job_id, held, now);
    // In the same synchronous block as the rows (no await between): committed together, so a claimed job always
    // has an alarm that would hand it over. The row goes now, once committed (a Durable Object's outgoing calls wait
    // for its writes), and the alarm is only the backstop.
    if (held) await this.#wake(handoff);
    else await this.#sendNow(now);
    return { outcome: "claimed" };
  }

  /** The submit's upload is done: hand the job over now. */
  async release(jobId: string): Promise<void> {
    const now = Date.now();
    if (this.#schema().handoff.release(jobId, now)) await this.#sendNow(now);
  }

  /**
   * Sends due rows to their homes without waiting for the alarm, which stays set no later than the backstop (one
   * alarm serves every claim until its backstop runs: a claim writes no alarm of its own while one is due).
   */
  async #sendNow(now: number): Promise<void> {
    await this.#alarm.setBy(this.#schema().handoff.backstopAt(now));
    if (this.#delivering) {
      this.#deliverAgain = true;
      return;
    }
    this.#delivering = this.#deliverDue().finally(() => this.#delivering = null);
    this.ctx.waitUntil(this.#delivering);
  }

  async #deliverDue(): Promise<void> {
    const { handoff } = this.#schema();
    let rescheduled = false;
    do {
      this.#deliverAgain = false;
      rescheduled = await handoff.deliver(this.env, Date.now()) || rescheduled;
    } while (this.#deliverAgain);
    if (rescheduled) await this.#wake(handoff);
  }

  /** The spec of the caller's job while its home has not recorded it yet, or null. */
  pending(jobId: string): JobSpec | null {
    return this.#exists() ? this.#schema().handoff.pending(jobId) : null;
  }

  /** Hands the job to its home now, if it still waits here (a cancel needs the home's record). */
  async handOver(jobId: string): Promise<void> {
    if (!this.#exists()) return;
    const { handoff } = this.#schema();
    if (await handoff.deliver(this.env, Date.now(), jobId)) await this.#wake(handoff);
  }

  /** The caller's jobs older than `beforeSeq` (null: from the newest), newest first. */
  jobs(beforeSeq: number | null, limit: number): ListedJob[] {
    if (!this.#exists()) return [];
    const { index, handoff } = this.#schema();
    return index.page(beforeSeq, limit).map((job) => {
      const pending = handoff.pending(job.job_id);
      return pending ? { ...job, pending } : job;
    });
  }

  override async alarm(): Promise<void> {
    this.#alarm.ran();
    const { handoff } = this.#schema();
    handoff.forgetDelivered();
    await handoff.deliver(this.env, Date.now());
    await this.#wake(handoff);
  }

  /** Sets the alarm to the first row's due time: never later than a row needs it. */
  async #wake(handoff: Handoff): Promise<void> {
    const now = Date.now();
    const due = handoff.nextDueAt(now);
    if (due !== null) await this.#alarm.setBy(Math.max(due, now));
  }
}
