/** Content fingerprints: the edge (job requests, dataset tiles) and the catalog (merged uploads) hash alike. */
/** A stable JSON text: object keys sorted at every level, so key order never changes a fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** One for the isolate: each `TextEncoder` is a runtime object the garbage collector must destroy (four a submit). */
const utf8 = new TextEncoder();

/** SHA-256 (hex) of the request's canonical JSON: equal payloads, equal hashes. */
export async function requestHash(request: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", utf8.encode(canonicalJson(request)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
