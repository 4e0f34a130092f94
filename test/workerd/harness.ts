/**
 * Black-box harness for runtime tests: one real `wrangler dev` (workerd, real
 * Durable Objects with SQLite storage, alarms and R2 on disk) per test file,
 * on a free port with its own state directory.
 */
import { DatabaseSync } from "node:sqlite";
import { fetchThroughDevProxy, startDevServer, startDevServerOnFreePorts } from "../../scripts/lib/wrangler_dev.ts";

export interface Service {
  readonly url: string;
  readonly stateDir: string;
  readonly logFile: string;
  /** The dev server's process id: it leads its own process group (wrangler, workerd and their children). */
  readonly pid: number;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** A digest of the local state as {@link snapshotState} reads it: equal digests, nothing written. */
  stateFingerprint(): Promise<string>;
  /** Kills the whole dev server process group (SIGKILL by default: a crash). */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Starts the dev server again on the same state directory and port (optionally with other vars). */
  restart(options?: { vars?: Record<string, string> }): Promise<void>;
  /** Fires the cron trigger once (`wrangler dev --test-scheduled`). */
  triggerCron(): Promise<void>;
}

export interface ServiceOptions {
  vars?: Record<string, string>;
  stateDir?: string;
}

export async function startService(options: ServiceOptions = {}): Promise<Service> {
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "spatial-jobs-state-" });
  const logFile = `${stateDir}.log`;
  let server = await startDevServerOnFreePorts({ stateDir, logFile, ...(options.vars ? { vars: options.vars } : {}) });
  const port = Number(new URL(server.url).port);
  const relaunch = (vars = options.vars) => startDevServer({ port, stateDir, logFile, ...(vars ? { vars } : {}) });
  return {
    url: server.url,
    stateDir,
    logFile,
    get pid() {
      return server.pid;
    },
    fetch: (path, init) => fetchThroughDevProxy(`${server.url}${path}`, init),
    stateFingerprint: async () => JSON.stringify([...(await snapshotState(stateDir))].sort()),
    stop: (signal = "SIGKILL") => server.stop(signal),
    restart: async (restartOptions) => {
      server = await relaunch(restartOptions?.vars ?? options.vars);
    },
    triggerCron: async () => {
      const response = await fetch(`${server.url}/__scheduled?cron=*+*+*+*+*`);
      await response.body?.cancel();
      if (!response.ok) throw new Error(`cron trigger answered ${response.status}`);
    },
  };
}

/**
 * The service's local state as what it holds, not how SQLite lays it out: for every SQLite database (DO storage,
 * alarms, R2 and cache metadata) its tables' schemas and rows, read through SQLite (so rows still in the WAL count,
 * and a checkpoint changes nothing); for every other file (R2 object bodies) its bytes. Keys are paths under the
 * state directory, values digests. Left out, as local-dev bookkeeping rather than application writes: miniflare's
 * `__miniflare_do_name` table (written when a Durable Object is first addressed by name) and databases with nothing
 * else in them (workerd creates an empty file for every Durable Object it instantiates).
 */
export async function snapshotState(stateDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const digest = async (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource))));
  const walk = async (path: string): Promise<void> => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      const key = full.slice(stateDir.length);
      if (entry.isDirectory) {
        await walk(full);
      } else if (entry.isFile && entry.name.endsWith(".sqlite")) {
        const dump = sqliteDump(full);
        if (dump) out.set(key, await digest(new TextEncoder().encode(dump)));
      } else if (entry.isFile && !/\.sqlite-(wal|shm|journal)$/.test(entry.name)) {
        out.set(key, await digest(await Deno.readFile(full)));
      }
    }
  };
  await walk(stateDir);
  return out;
}

/** Schemas and rows of a SQLite file's tables (rows sorted), or "" when it holds no table of its own. */
function sqliteDump(path: string): string {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = db.prepare(
      `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name <> '__miniflare_do_name' ORDER BY name`,
    ).all() as { name: string; sql: string }[];
    if (tables.length === 0) return "";
    return tables.map(({ name, sql }) => {
      const select = db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`);
      select.setReadBigInts(true);
      const rows = select.all()
        .map((row) =>
          JSON.stringify(row, (_k, v) => typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? [...v] : v)
        )
        .sort();
      return `${sql}\n${rows.join("\n")}`;
    }).join("\n\n");
  } finally {
    db.close();
  }
}

/** What was added, removed or changed between two {@link stateSnapshot}s (empty: nothing was written). */
export function stateChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [path, digest] of after) {
    if (!before.has(path)) changes.push(`+ ${path}`);
    else if (before.get(path) !== digest) changes.push(`~ ${path}`);
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push(`- ${path}`);
  return changes.sort();
}
