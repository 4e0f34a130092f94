/**
 * The web globals this layer uses, typed structurally: under `src/deno.json`'s
 * Workers types, `console` and `crypto` do not resolve as globals (the checker
 * sees only `self.*`), while tests type-check these modules with Deno's types.
 */
interface RuntimeGlobals {
  console: {
    log(line: string): void;
    warn(line: string): void;
    error(line: string): void;
  };
  crypto: {
    getRandomValues<T extends Uint8Array>(array: T): T;
    randomUUID(): string;
  };
}

export const runtime = globalThis as unknown as RuntimeGlobals;
