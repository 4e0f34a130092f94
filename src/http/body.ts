/**
 * Request bodies: the size limit enforced before parsing (Content-Length, then
 * a streaming byte counter), media types (415), content codings (415) and JSON
 * syntax and depth (400/422) — all before any schema runs.
 */
import type { Context, MiddlewareHandler } from "hono";
import { MAX_JSON_DEPTH } from "../../shared/contract/limits.ts";
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from "../../shared/problem.ts";

/** Lowercased media type without parameters; `""` when absent. */
function mediaTypeOf(contentType: string | null | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Global middleware: rejects a request whose `Content-Length` exceeds the
 * limit for its route with 413 before anything reads it (and before auth).
 * `limitFor` returns the byte limit for a method and path.
 */
export function bodyLimit(limitFor: (method: string, path: string) => number): MiddlewareHandler {
  return async function bodyLimitMiddleware(c, next) {
    const declared = c.req.header("content-length");
    if (declared !== undefined) {
      const limit = limitFor(c.req.method, c.req.path);
      const n = Number(declared);
      if (!/^\d+$/.test(declared.trim())) {
        throw new ValidationError("Content-Length must be a non-negative integer.", [], 400);
      }
      if (n > limit) throw new PayloadTooLargeError(limit);
    }
    await next();
  };
}

/**
 * Reads the whole body, counting bytes as they stream in and cancelling the
 * stream as soon as `maxBytes` is passed (413) — a missing or lying
 * Content-Length cannot get a larger body buffered.
 */
export async function readBodyCapped(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new PayloadTooLargeError(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * The deepest nesting of arrays/objects in a JSON text (strings skipped), or
 * `Infinity` once past `stopAt` — so a hostile body is never handed to a recursive walker.
 */
export function jsonDepth(text: string, stopAt = MAX_JSON_DEPTH): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 /* [ */ || ch === 123 /* { */) {
      if (++depth > max) {
        max = depth;
        if (max > stopAt) return Infinity;
      }
    } else if (ch === 93 || ch === 125) depth--;
  }
  return max;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Parses a JSON body: invalid UTF-8, empty, syntax errors → 400; nested deeper than {@link MAX_JSON_DEPTH} → 422. */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ValidationError("The request body is not valid UTF-8.", [], 400);
  }
  if (text.trim() === "") throw new ValidationError("The request body is empty; send a JSON document.", [], 400);
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new ValidationError(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`, [
      { path: "", message: `nesting deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = err instanceof SyntaxError ? err.message : "syntax error";
    throw new ValidationError(`The request body is not valid JSON: ${reason}`, [], 400);
  }
}

function isJsonMediaType(mediaType: string): boolean {
  return /^application\/([\w.-]+\+)?json$/.test(mediaType);
}

/** What {@link readBody} leaves in the context. */
export interface BodyVariables {
  /** The raw body bytes (after the size check). */
  rawBody: Uint8Array;
  /** The lowercased media type the body was accepted as. */
  bodyMediaType: string;
  /** The parsed JSON, when the media type is JSON-ish. */
  jsonBody: unknown;
}

/**
 * Route middleware: checks the content type (415) and coding (415), reads the
 * body under `maxBytes` (413), parses JSON media types (400), and primes
 * Hono's body cache so later validators see the parsed value.
 */
export function readBody(opts: { maxBytes: number; accept: readonly string[] }): MiddlewareHandler<
  // Optional, as in the app's variables: a handler's context stays the app's, to pass on to its service.
  { Variables: Partial<BodyVariables> }
> {
  return async function readBodyMiddleware(c, next) {
    const contentType = c.req.header("content-type") ?? null;
    const mediaType = mediaTypeOf(contentType);
    if (!opts.accept.includes(mediaType)) throw new UnsupportedMediaTypeError(contentType, opts.accept);
    const coding = (c.req.header("content-encoding") ?? "identity").trim().toLowerCase();
    if (coding !== "identity" && coding !== "") {
      throw new UnsupportedMediaTypeError(`${contentType} (Content-Encoding: ${coding})`, opts.accept);
    }
    const bytes = await readBodyCapped(c.req.raw, opts.maxBytes);
    c.set("rawBody", bytes);
    c.set("bodyMediaType", mediaType);
    if (isJsonMediaType(mediaType)) {
      const parsed = parseJsonBytes(bytes);
      c.set("jsonBody", parsed);
      primeJsonCache(c, parsed);
    }
    await next();
  };
}

/** Lets `c.req.json()` (used by the zod validators) return the already parsed body. */
function primeJsonCache(c: Context, parsed: unknown): void {
  (c.req as unknown as { bodyCache: Record<string, Promise<unknown>> }).bodyCache.json = Promise.resolve(parsed);
}
