/** Random W3C trace and span ids (lowercase hex, never all zero). */
import { runtime } from "./runtime.ts";

function randomHex(bytes: number): string {
  const buf = runtime.crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of buf) out += b.toString(16).padStart(2, "0");
  // An all-zero id is invalid; the odds are negligible but the fix is free.
  return /^0+$/.test(out) ? randomHex(bytes) : out;
}

/** A new 16-byte trace id (32 hex). */
export function generateTraceId(): string {
  return randomHex(16);
}

/** A new 8-byte span id (16 hex). */
export function generateSpanId(): string {
  return randomHex(8);
}
