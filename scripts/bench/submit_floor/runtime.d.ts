// The few runtime types worker.ts uses. Not @cloudflare/workers-types: its globals would replace `fetch` and
// `Response` for every script `deno check scripts/` checks together with this one.
declare module "cloudflare:workers" {
  export interface SqlCursor<T> {
    one(): T;
    toArray(): T[];
  }
  export interface ObjectState {
    storage: {
      sql: { exec<T = Record<string, unknown>>(query: string, ...bindings: unknown[]): SqlCursor<T> };
      setAlarm(at: number): Promise<void>;
    };
    waitUntil(promise: Promise<unknown>): void;
  }
  export class DurableObject<Env> {
    protected ctx: ObjectState;
    protected env: Env;
    constructor(ctx: ObjectState, env: Env);
  }
  /** A namespace's stub answers each method with a promise. */
  export interface Namespace<T> {
    idFromName(name: string): unknown;
    get(
      id: unknown,
    ): { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };
  }
}
declare const scheduler: { wait(ms: number): Promise<void> };
