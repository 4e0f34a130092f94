/**
 * The partition ledger's SQLite schema. `job_events` is append-only and is
 * the audit trail; `jobs` is the current state derived from it, updated in
 * the same transaction as each event. `tasks` holds this partition's share of
 * jobs (homed here or elsewhere) with its slice checkpoint.
 */
export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('QUEUED','IN_PROGRESS','COMPLETED','FAILED','CANCELLED','DEAD_LETTER')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- attempts at the last operator re-drive: the retry budget counts from here
    retry_base INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    next_run_at INTEGER,
    partitions_total INTEGER NOT NULL,
    partitions_done INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    stats TEXT,
    degraded TEXT
  )`,
  `CREATE INDEX IF NOT EXISTS jobs_due ON jobs (next_run_at) WHERE next_run_at IS NOT NULL`,
  // Every alarm counts the live jobs and tasks (hasUnfinishedWork, countByStatus): without these it read every job
  // the home ever held, ~3 ms an alarm after a few thousand (bench:submit).
  `CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, updated_at)`,
  `CREATE TABLE IF NOT EXISTS job_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('transition','partition_done','slice','commit','note')),
    from_status TEXT,
    to_status TEXT,
    attempt INTEGER NOT NULL,
    trace_id TEXT,
    detail TEXT
  )`,
  `CREATE INDEX IF NOT EXISTS job_events_job ON job_events (job_id, seq)`,
  `CREATE TABLE IF NOT EXISTS job_parts (
    job_id TEXT NOT NULL,
    cell TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    part_keys TEXT NOT NULL,
    feature_count INTEGER NOT NULL,
    stats TEXT NOT NULL,
    PRIMARY KEY (job_id, cell)
  )`,
  `CREATE TABLE IF NOT EXISTS tasks (
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    cell TEXT NOT NULL,
    home_cell TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PENDING','RUNNING','DONE','REPORTED','CANCELLED','FAILED')),
    next_offset INTEGER NOT NULL DEFAULT 0,
    slices INTEGER NOT NULL DEFAULT 0,
    part_keys TEXT NOT NULL DEFAULT '[]',
    feature_count INTEGER NOT NULL DEFAULT 0,
    stats TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    next_run_at INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, attempt)
  )`,
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS tasks_due ON tasks (next_run_at) WHERE next_run_at IS NOT NULL`,
  `CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status)`,
];
