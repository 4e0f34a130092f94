/**
 * Starts the dev server (workerd through wrangler's API, ./wrangler_start.ts: real Durable Objects, SQLite storage,
 * alarms and R2 persisted on disk) in its own process group, so that stopping it, or crashing it on purpose, takes
 * workerd down with it. Without the DevTools inspector unless asked: attached, every log line is serialized to
 * wrangler's inspector proxy (~0.2 ms of the Worker's thread and ~0.9 ms of the proxy's a line, against a few µs).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const WRANGLER = "npm:wrangler@4.86.0";

export interface DevServerOptions {
  port: number;
  /** Directory holding the local DO/SQLite/R2 state (`--persist-to`). */
  stateDir: string;
  /** Extra plain-text bindings (as `wrangler dev --var NAME:VALUE`). */
  vars?: Record<string, string>;
  /** Where wrangler's output goes; inherited when absent. */
  logFile?: string;
  /** A wrangler config other than the project's `wrangler.toml` (e.g. a test fixture Worker). */
  config?: string;
  /** The DevTools inspector's port, e.g. for scripts/profile_cpu.ts; no inspector when absent. */
  inspectorPort?: number;
}

/** What ./wrangler_start.ts starts (its argument, as JSON). */
export interface DevServerStart {
  config: string;
  envFile: string;
  hostname: string;
  port: number;
  persist: string;
  /** The inspector's port, or null for none. */
  inspectorPort: number | null;
  vars: Record<string, string>;
}

export interface DevServer {
  readonly url: string;
  readonly pid: number;
  /** Sends `signal` to the whole process group and waits for it to exit. */
  stop(signal?: Deno.Signal): Promise<void>;
}

/** The env file for local secrets: `.dev.vars` when present, else `.dev.vars.example`. */
export function localEnvFile(): string {
  const own = `${PROJECT_ROOT}.dev.vars`;
  return existsSync(own) ? own : `${PROJECT_ROOT}.dev.vars.example`;
}

/** The command line (after `deno`) that runs the dev server, in the directory of its config. */
export function devServerArgs(options: DevServerOptions): string[] {
  const start: DevServerStart = {
    config: options.config ?? `${PROJECT_ROOT}wrangler.toml`,
    envFile: localEnvFile(),
    hostname: "127.0.0.1",
    port: options.port,
    persist: options.stateDir,
    inspectorPort: options.inspectorPort ?? null,
    vars: options.vars ?? {},
  };
  return [
    "run",
    "-A",
    "--config",
    `${PROJECT_ROOT}deno.json`,
    `${PROJECT_ROOT}scripts/lib/wrangler_start.ts`,
    JSON.stringify(start),
  ];
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const log = options.logFile ? await Deno.open(options.logFile, { write: true, create: true, append: true }) : null;
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), ...devServerArgs(options)],
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: log ? "piped" : "inherit",
    stderr: log ? "piped" : "inherit",
    env: { CI: "true", WRANGLER_SEND_METRICS: "false" },
  }).spawn();
  if (log) {
    // Not `pipeTo(log.writable, {preventClose: true})`: two pipes cannot share one writable (the second is
    // refused as locked), and in Deno 2.9.6 a file's writable piped with preventClose writes nothing at all.
    const copy = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        for (let written = 0; written < chunk.length;) written += await log.write(chunk.subarray(written));
      }
    };
    copy(child.stdout).catch(() => {});
    copy(child.stderr).catch(() => {});
  }
  const url = `http://127.0.0.1:${options.port}`;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    log?.close();
    return s;
  });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (exited) return;
    try {
      Deno.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
    await status;
    await waitForPortClosed(options.port);
  };
  try {
    await waitForHealth(url, () => exited);
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
  return { url, pid: child.pid, stop };
}

async function waitForHealth(url: string, hasExited: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`wrangler dev exited before ${url}/health answered`);
    try {
      const response = await fetch(`${url}/health`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url}/health did not answer within ${timeoutMs} ms`);
}

async function waitForPortClosed(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a dev server on a free port (servers started side by side by tests and scripts must not share one), taking
 * another when the port was taken before workerd bound it.
 */
export async function startDevServerOnFreePorts(
  options: Omit<DevServerOptions, "port" | "inspectorPort">,
): Promise<DevServer> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startDevServer({ ...options, port: freePort() });
    } catch (error) {
      if (attempt >= 3 || !/exited before/.test(String(error))) throw error;
    }
  }
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * wrangler dev's proxy answers 503 "Your worker restarted mid-request" (Retry-After: 0) when its pooled
 * connection to the runtime was just closed (workers-sdk#14641): the request never reached the Worker, and
 * the proxy only retries GET/HEAD itself. Clients of the local service resend it.
 */
export async function isDevProxyRestart(response: Response): Promise<boolean> {
  if (response.status !== 503 || response.headers.get("retry-after") !== "0") return false;
  return (await response.clone().text()).startsWith("Your worker restarted mid-request");
}

/** `fetch` that resends a request the dev proxy dropped (see {@link isDevProxyRestart}); a stream body is not resent. */
export async function fetchThroughDevProxy(url: string, init?: RequestInit): Promise<Response> {
  for (let tries = 1;; tries++) {
    const response = await fetch(url, init);
    if (tries >= 3 || init?.body instanceof ReadableStream || !(await isDevProxyRestart(response))) return response;
    await response.body?.cancel();
  }
}
