/**
 * Black-box harness for runtime tests: one real `wrangler dev` (workerd, real
 * Durable Objects with SQLite storage, alarms and R2 on disk) per test file,
 * on a free port with its own state directory.
 */
import { createHash } from "node:crypto";
import { freePort, startDevServer } from "../../scripts/lib/wrangler_dev.ts";

export interface Service {
  readonly url: string;
  readonly stateDir: string;
  readonly logFile: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** A digest of every file of the local state (DO SQLite, R2 objects): equal digests, nothing written. */
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
  const port = freePort();
  const launch = (vars = options.vars) => startDevServer({ port, stateDir, logFile, ...(vars ? { vars } : {}) });
  let server = await launch();
  return {
    url: server.url,
    stateDir,
    logFile,
    fetch: (path, init) => fetch(`${server.url}${path}`, init),
    stateFingerprint: () => fingerprintDir(stateDir),
    stop: (signal = "SIGKILL") => server.stop(signal),
    restart: async (restartOptions) => {
      server = await launch(restartOptions?.vars ?? options.vars);
    },
    triggerCron: async () => {
      const response = await fetch(`${server.url}/__scheduled?cron=*+*+*+*+*`);
      await response.body?.cancel();
      if (!response.ok) throw new Error(`cron trigger answered ${response.status}`);
    },
  };
}

async function fingerprintDir(dir: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (path: string): Promise<void> => {
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(path)) entries.push(entry);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) {
        await walk(full);
      } else if (entry.isFile && !/-(wal|shm)$/.test(entry.name)) {
        hash.update(full.slice(dir.length));
        hash.update(await Deno.readFile(full));
      }
    }
  };
  await walk(dir);
  return hash.digest("hex");
}
