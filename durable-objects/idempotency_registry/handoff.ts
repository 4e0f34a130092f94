/**
 * The outbox between a claim and the job's home partition. A claim writes its handoff row in the same
 * synchronous block as the claim itself, so the submit answers after one call to this object (the claim and
 * the job's record are one commit); the registry then sends the row to its home at once, off the submit's path,
 * and its alarm is only the backstop (a crash, an unreachable home), the way partitions hand webhooks to their
 * outbox. Until the home has it, the job is read from here (QUEUED).
 *
 * Every commit of a Durable Object is a write to its database (locally a WAL fsync on the one thread that runs every
 * object), so the rows in flight and those delivered are known in memory: a delivered row is deleted with the next
 * write here (a claim, or the backstop alarm), not in a commit of its own. An instance that dies forgets them; its
 * backstop alarm sends those rows again, and the home records a job once whatever it is sent (by job id).
 *
 * A payload the submit writes to R2 after its claim is "held": it is handed over when the submit releases it
 * once its upload is done, or, if that release is lost (a crash after the upload), when the alarm finds every
 * tile in R2. A held row whose tiles never arrive belongs to a submit that died before it answered: it is
 * dropped after {@link HOLD_EXPIRY_MS}, and a replay of its key uploads again and records the job itself.
 */
import type { JobSpec } from "../../shared/job_spec.ts";
import { partitionStub } from "../../shared/routing/partitions.ts";
import { createLogger } from "../../shared/telemetry/log.ts";
import { backoffMs } from "../partition_ledger/backoff.ts";

/** How often the alarm looks for the tiles of a held row whose release did not come. */
export const HOLD_CHECK_MS = 10_000;
/** How long a row in flight to its home is not sent again (a home call that outlives it is retried). */
const DELIVERY_LEASE_MS = 30_000;
/**
 * When the alarm looks again at rows sent straight after their claim (sent, delivered or not, in this instance). The
 * alarm only matters when this instance died before a row reached its home, and a claim of the same caller after a
 * restart sends every row due anyway; otherwise it finds the rows delivered and deletes them. Each alarm costs three
 * writes (set, the delete of the delivered rows, the runtime's delete of the alarm), locally three fsyncs on the one
 * thread: with a 5 s backstop, 100 callers at 2 submits/s each spent 0.4 fsync a submit on it.
 */
const BACKSTOP_MS = 30_000;
/** How long a held row waits for its tiles. */
export const HOLD_EXPIRY_MS = 10 * 60_000;

export const HANDOFF_SCHEMA = `CREATE TABLE IF NOT EXISTS handoff (
  job_id TEXT PRIMARY KEY,
  idempotency_key TEXT NOT NULL,
  held INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  queued_at INTEGER NOT NULL
)`;

/** A row ready to go, with its spec. */
type Ready = { row: DueRow; spec: JobSpec };

type DueRow = {
  job_id: string;
  held: number;
  attempts: number;
  queued_at: number;
  spec: string;
};

export class Handoff {
  readonly #sql: SqlStorage;
  /** Rows on their way to their home, by job id: when they were sent. */
  readonly #inFlight = new Map<string, number>();
  /** Rows their home has recorded, still to delete. */
  readonly #delivered = new Set<string>();
  /** Rows this instance queued and has not seen recorded: surely still waiting (see {@link waiting}). */
  readonly #queued = new Set<string>();
  /**
   * This instance's backstop delay: between half of {@link BACKSTOP_MS} and all of it, drawn once. Each caller's
   * registry sets its alarm with its first claim after its last alarm ran, so registries that started together with
   * one delay kept running their alarms together: under a steady load, waves of ~50 alarms (and their commits) every
   * 5 s held every request up for tens of milliseconds on the one thread they share locally (docs/performance.md).
   */
  readonly #backstopMs = BACKSTOP_MS * (0.5 + Math.random() / 2);

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(HANDOFF_SCHEMA);
  }

  /** When the backstop alarm set now runs. */
  backstopAt(now: number): number {
    return now + this.#backstopMs;
  }

  /** Queues `spec` for its home: due now, or held (due at the first check for its tiles). */
  add(key: string, jobId: string, held: boolean, now: number): void {
    this.forgetDelivered();
    this.#queued.add(jobId);
    this.#sql.exec(
      `INSERT OR IGNORE INTO handoff (job_id, idempotency_key, held, due_at, queued_at) VALUES (?, ?, ?, ?, ?)`,
      jobId,
      key,
      held ? 1 : 0,
      held ? now + HOLD_CHECK_MS : now,
      now,
    );
  }

  /** Makes a held row due now; false when the row is gone (handed over already). */
  release(jobId: string, now: number): boolean {
    this.forgetDelivered();
    return this.#sql.exec(`UPDATE handoff SET held = 0, due_at = ? WHERE job_id = ?`, now, jobId).rowsWritten > 0;
  }

  /** Deletes the rows their homes have recorded: called in a block that writes anyway, or by the alarm. */
  forgetDelivered(): void {
    if (this.#delivered.size === 0) return;
    this.#sql.exec(
      `DELETE FROM handoff WHERE job_id IN (SELECT value FROM json_each(?))`,
      JSON.stringify([...this.#delivered]),
    );
    this.#delivered.clear();
  }

  /**
   * Whether the job surely waits here still: queued by this instance and not yet recorded by its home. A row this
   * instance did not queue (it started since) may have been delivered before: only its home knows.
   */
  waiting(jobId: string): boolean {
    return this.#queued.has(jobId);
  }

  /** The spec of a job still waiting for its home, or null. */
  pending(jobId: string): JobSpec | null {
    if (this.#delivered.has(jobId)) return null;
    const row = this.#sql.exec<{ spec: string }>(
      `SELECT c.spec FROM handoff h JOIN claims_by_key c ON c.idempotency_key = h.idempotency_key WHERE h.job_id = ?`,
      jobId,
    ).toArray()[0];
    return row ? JSON.parse(row.spec) as JobSpec : null;
  }

  /**
   * When the alarm must next run, or null when nothing waits: the first row due that is not in flight, and a
   * backstop while any is in flight or delivered (a call that never settles, rows still to delete).
   */
  nextDueAt(now: number): number | null {
    const settling = [...this.#inFlight.keys(), ...this.#delivered];
    const { due } = this.#sql.exec<{ due: number | null }>(
      `SELECT MIN(due_at) AS due FROM handoff WHERE job_id NOT IN (SELECT value FROM json_each(?))`,
      JSON.stringify(settling),
    ).one();
    const backstop = settling.length > 0 ? this.backstopAt(now) : null;
    return due === null ? backstop : backstop === null ? due : Math.min(due, backstop);
  }

  /**
   * Hands every due row (or only `jobId`'s, due or not) to its home: one call per home carries all of its rows.
   * True when a row stays with a later due time (a retry, a held row's next look): the caller sets the alarm.
   */
  async deliver(env: Env, now: number, jobId?: string): Promise<boolean> {
    const rows = this.#sql.exec<DueRow>(
      `SELECT h.job_id, h.held, h.attempts, h.queued_at, c.spec FROM handoff h
       JOIN claims_by_key c ON c.idempotency_key = h.idempotency_key
       WHERE ${jobId === undefined ? "h.due_at <= ?" : "h.job_id = ?"}`,
      jobId ?? now,
    ).toArray().filter((row) =>
      !this.#delivered.has(row.job_id) && (this.#inFlight.get(row.job_id) ?? -Infinity) <= now - DELIVERY_LEASE_MS
    );
    // In flight in memory, not leased in a row: a claim arriving meanwhile sends only its own row.
    for (const row of rows) this.#inFlight.set(row.job_id, now);
    const ready = await Promise.all(rows.map((row) => this.#ready(env, row, now, jobId !== undefined)));
    const byHome = Map.groupBy(ready.flatMap((r) => r ?? []), (r) => r.spec.home_cell);
    const delivered = await Promise.all([...byHome].map(([cell, batch]) => this.#deliverTo(env, cell, batch)));
    for (const row of rows) this.#inFlight.delete(row.job_id);
    return ready.some((r) => r === null) || delivered.some((ok) => !ok);
  }

  /** The row with its spec if it can go now; a held row whose tiles are not all in R2 waits (or expires). */
  async #ready(env: Env, row: DueRow, now: number, forced: boolean): Promise<Ready | null> {
    const spec = JSON.parse(row.spec) as JobSpec;
    try {
      if (!row.held || forced || await tilesStored(env.TILES, spec)) return { row, spec };
    } catch (error) {
      this.#retry(row, error);
      return null;
    }
    if (now - row.queued_at >= HOLD_EXPIRY_MS) {
      this.#drop(row.job_id);
      createLogger({ job_id: row.job_id }).warn(
        "held submit dropped: its payload never reached R2 (the submit died before it answered)",
      );
    } else this.#sql.exec(`UPDATE handoff SET due_at = ? WHERE job_id = ?`, now + HOLD_CHECK_MS, row.job_id);
    return null;
  }

  /** False when the home was not reached (its rows wait for a retry). */
  async #deliverTo(env: Env, cell: string, batch: Ready[]): Promise<boolean> {
    try {
      const outcomes = await partitionStub(env, cell).submit(batch.map((r) => r.spec));
      batch.forEach(({ row }, i) => {
        this.#delivered.add(row.job_id);
        this.#queued.delete(row.job_id);
        const outcome = outcomes[i]!;
        // The edge decided the same policy on the same claims before the claim: a refusal here is a bug.
        if (!outcome.ok) {
          createLogger({ job_id: row.job_id }).error("home refused a claimed job", { reason: outcome.reason });
        }
      });
      return true;
    } catch (error) {
      for (const { row } of batch) this.#retry(row, error);
      return false;
    }
  }

  /** The home (or R2) was not reached: the row is due again after a backoff. */
  #retry(row: DueRow, error: unknown): void {
    this.#sql.exec(
      `UPDATE handoff SET attempts = attempts + 1, due_at = ? WHERE job_id = ?`,
      Date.now() + backoffMs(row.attempts),
      row.job_id,
    );
    createLogger({ job_id: row.job_id }).warn("home not reached to record a claimed job; retrying", {
      detail: String(error),
    });
  }

  #drop(jobId: string): void {
    this.#queued.delete(jobId);
    this.#sql.exec(`DELETE FROM handoff WHERE job_id = ?`, jobId);
  }
}

/** Whether every tile of the spec's payload is in R2. */
async function tilesStored(bucket: R2Bucket, spec: JobSpec): Promise<boolean> {
  if (spec.left.kind !== "payload") return true;
  const heads = await Promise.all(
    Object.values(spec.left.tiles).map((tile) => tile.inline ? true : bucket.head(tile.key)),
  );
  return heads.every(Boolean);
}
