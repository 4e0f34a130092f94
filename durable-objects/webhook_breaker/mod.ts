/**
 * A circuit breaker for one webhook destination (`idFromName(host)`, host
 * with port), shared by every partition that delivers there, so a dead
 * endpoint costs one probe per cool-down instead of every partition's
 * retries.
 *
 * closed ──(N consecutive failures)──▶ open ──(cool-down passed, one probe admitted)──▶ half_open
 *    ▲                                    ▲                                                │
 *    └────────────(probe succeeds)────────┴────────────────(probe fails)───────────────────┘
 *
 * N is `WEBHOOK_BREAKER_THRESHOLD` (5), the cool-down `WEBHOOK_BREAKER_COOLDOWN_MS` (30 s).
 */
import { DurableObject } from "cloudflare:workers";
import { config } from "../../shared/config.ts";

export type BreakerStateName = "closed" | "open" | "half_open";

export interface BreakerState {
  state: BreakerStateName;
  consecutive_failures: number;
  opened_at: number | null;
  /** When the half-open probe was admitted (another is admitted if it never reports back within the cool-down). */
  probe_started_at: number | null;
}

/** Admitted (`probe`: this is the half-open trial), or refused until `retry_at`. */
export type BreakerAdmission = { allowed: true; probe: boolean } | { allowed: false; retry_at: number };

export class WebhookBreaker extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS breaker (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      state TEXT NOT NULL CHECK (state IN ('closed','open','half_open')),
      consecutive_failures INTEGER NOT NULL,
      opened_at INTEGER,
      probe_started_at INTEGER
    )`);
  }

  /** Asks to deliver now. While open, refuses until the cool-down ends; then admits one probe at a time. */
  admit(): BreakerAdmission {
    const now = Date.now();
    const s = this.read();
    const cooldown = this.cooldownMs();
    if (s.state === "closed") return { allowed: true, probe: false };
    const since = s.state === "open" ? s.opened_at ?? 0 : s.probe_started_at ?? 0;
    if (now < since + cooldown) return { allowed: false, retry_at: since + cooldown };
    this.write({ ...s, state: "half_open", probe_started_at: now });
    return { allowed: true, probe: true };
  }

  /** Reports an admitted delivery's outcome: `healthy` when the host answered as a live endpoint. */
  report(healthy: boolean): BreakerState {
    const now = Date.now();
    const s = this.read();
    let next: BreakerState;
    if (healthy) {
      next = { state: "closed", consecutive_failures: 0, opened_at: null, probe_started_at: null };
    } else {
      const failures = s.consecutive_failures + 1;
      const trips = s.state === "half_open" || s.state === "open" || failures >= this.threshold();
      next = trips
        ? { state: "open", consecutive_failures: failures, opened_at: now, probe_started_at: null }
        : { ...s, consecutive_failures: failures };
    }
    this.write(next);
    return next;
  }

  state(): BreakerState {
    return this.read();
  }

  private threshold(): number {
    return config(this.env).WEBHOOK_BREAKER_THRESHOLD;
  }

  private cooldownMs(): number {
    return config(this.env).WEBHOOK_BREAKER_COOLDOWN_MS;
  }

  private read(): BreakerState {
    const row = this.ctx.storage.sql.exec<Record<string, SqlStorageValue>>(`SELECT * FROM breaker WHERE id = 1`)
      .toArray()[0];
    if (!row) return { state: "closed", consecutive_failures: 0, opened_at: null, probe_started_at: null };
    return {
      state: row.state as BreakerStateName,
      consecutive_failures: Number(row.consecutive_failures),
      opened_at: row.opened_at === null ? null : Number(row.opened_at),
      probe_started_at: row.probe_started_at === null ? null : Number(row.probe_started_at),
    };
  }

  private write(s: BreakerState): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO breaker (id, state, consecutive_failures, opened_at, probe_started_at) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, consecutive_failures = excluded.consecutive_failures,
         opened_at = excluded.opened_at, probe_started_at = excluded.probe_started_at`,
      s.state,
      s.consecutive_failures,
      s.opened_at,
      s.probe_started_at,
    );
  }
}
