/**
 * Starts `wrangler dev` (workerd with real Durable Objects, SQLite storage,
 * alarms and R2 persisted on disk) in its own process group, so that stopping
 * it, or crashing it on purpose, takes workerd down with it.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const WRANGLER = "npm:wrangler@4.86.0";

export interface DevServerOptions {
  port: number;
  /** Directory holding the local DO/SQLite/R2 state (`--persist-to`). */
  stateDir: string;
  /** Extra `--var NAME:VALUE` bindings. */
  vars?: Record<string, string>;
  /** Where wrangler's output goes; inherited when absent. */
  logFile?: string;
  /** A wrangler config other than the project's `wrangler.toml` (e.g. a test fixture Worker). */
  config?: string;
  /** The DevTools inspector's port (`--inspector-port`; wrangler's default is 9229), e.g. for scripts/profile_cpu.ts. */
  inspectorPort?: number;
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

export function wranglerDevArgs(options: DevServerOptions): string[] {
  const args = [
    "run",
    "-A",
    WRANGLER,
    "dev",
    ...(options.config ? ["--config", options.config] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--persist-to",
    options.stateDir,
    "--env-file",
    localEnvFile(),
    "--test-scheduled",
    "--show-interactive-dev-session=false",
    ...(options.inspectorPort ? ["--inspector-port", String(options.inspectorPort)] : []),
  ];
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
  return args;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const log = options.logFile ? await Deno.open(options.logFile, { write: true, create: true, append: true }) : null;
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), ...wranglerDevArgs(options)],
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
 * Starts a dev server on free ports, its own and its inspector's (servers started side by side by tests and scripts
 * must not share wrangler's default inspector port 9229), taking others when a port was taken before workerd bound it.
 */
export async function startDevServerOnFreePorts(
  options: Omit<DevServerOptions, "port" | "inspectorPort">,
): Promise<DevServer> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startDevServer({ ...options, port: freePort(), inspectorPort: freePort() });
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
