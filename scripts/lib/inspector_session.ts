/**
 * One DevTools-protocol connection to the V8 inspector that `wrangler dev` exposes (`--inspector-port`). wrangler's
 * inspector proxy takes one client at a time, so everything that talks to the isolate during a run (the CPU
 * profiler, the heap sampler) shares one session.
 */

export interface InspectorSession {
  /** Sends a protocol command and resolves with its `result` (rejects with its `error`, or once the socket closed). */
  send<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Closes the socket; pending and later commands are rejected. */
  close(): void;
}

/**
 * The DevTools WebSocket URL behind `inspector`: a `ws://` URL as is, else `host:port` (or an http URL)
 * whose `/json/list` names the target (wrangler's inspector proxy lists exactly one).
 */
export async function inspectorWebSocketUrl(inspector: string): Promise<string> {
  if (/^wss?:\/\//.test(inspector)) return inspector;
  const base = /^https?:\/\//.test(inspector) ? inspector.replace(/\/+$/, "") : `http://${inspector}`;
  const response = await fetch(`${base}/json/list`);
  if (!response.ok) throw new Error(`${base}/json/list answered ${response.status}`);
  const targets = await response.json() as { webSocketDebuggerUrl?: string }[];
  const url = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
  if (!url) throw new Error(`${base}/json/list lists no inspectable target`);
  return url;
}

/**
 * Connects to `inspector` (`host:port`, an http URL, or the `ws://` URL itself). wrangler's proxy never answers
 * the close handshake: a closed socket keeps a Deno process alive until wrangler exits (or `Deno.exit`).
 */
export async function openInspector(inspector: string): Promise<InspectorSession> {
  const url = await inspectorWebSocketUrl(inspector);
  // wrangler's proxy refuses an upgrade that has a User-Agent but no Origin of its allow-list.
  const ws = new WebSocket(url, { headers: { Origin: "http://127.0.0.1" } });
  const pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let closed: Error | undefined;
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`Inspector WebSocket ${url}: ${(e as ErrorEvent).message ?? "error"}`));
  });
  ws.onmessage = (event) => {
    // Everything else (console events buffered by the proxy, its keep-alive answers) is not ours.
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result ?? {});
  };
  const onGone = (reason: string) => {
    closed ??= new Error(`Inspector connection closed: ${reason}`);
    for (const waiter of pending.values()) waiter.reject(closed);
    pending.clear();
  };
  ws.onclose = (event) => onGone(`${event.code} ${event.reason}`);
  ws.onerror = (event) => onGone((event as ErrorEvent).message ?? "error");
  return {
    send<T>(method: string, params?: Record<string, unknown>): Promise<T> {
      if (closed) return Promise.reject(closed);
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
        ws.send(JSON.stringify({ id, method, ...(params ? { params } : {}) }));
      });
    },
    close() {
      ws.onclose = null;
      ws.onerror = null;
      onGone("closed by the client");
      try {
        ws.close();
      } catch {
        // Already closed.
      }
    },
  };
}
