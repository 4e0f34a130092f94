/**
 * Signed result links: `…/result?expires=<unix s>&signature=<base64url>`, usable without an Authorization header
 * (GDAL `/vsicurl/`, DuckDB, QGIS, a browser's address bar) until `expires`. The signature is
 * HMAC-SHA256(`RESULT_LINK_KEY`, job id, result ETag, expires): a link opens one job's result as it was when
 * the link was made; a re-committed result (another ETag), a later time or any edited byte breaks it.
 */
import { decodeBase64Url, encodeBase64Url } from "hono/utils/encode";

/** The longest a link lives (the contract: at most one hour). */
export const SIGNED_LINK_TTL_S = 3600;

export type LinkVerdict = { ok: true } | { ok: false; reason: string };

const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

function signedText(jobId: string, etag: string, expires: number): Uint8Array<ArrayBuffer> {
  return encoder.encode(`result-link\n${jobId}\n${etag}\n${expires}`);
}

/**
 * The query string (`expires=…&signature=…`) of a link to `jobId`'s result with `etag`, valid until `expires`
 * (unix seconds).
 */
export async function signResultLink(secret: string, jobId: string, etag: string, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), signedText(jobId, etag, expires));
  return `expires=${expires}&signature=${encodeBase64Url(mac).replace(/=+$/, "")}`;
}

/** Checks a link's `expires` and `signature` against the job's current result ETag, at `nowSeconds`. */
export async function verifyResultLink(
  secret: string,
  jobId: string,
  etag: string,
  query: { expires?: string | undefined; signature?: string | undefined },
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<LinkVerdict> {
  const expires = Number(query.expires);
  if (!/^\d{1,12}$/.test(query.expires ?? "") || !query.signature) {
    return { ok: false, reason: "The link lacks a valid expires or signature." };
  }
  if (expires < nowSeconds) return { ok: false, reason: "The link has expired; fetch the status document again." };
  if (expires > nowSeconds + SIGNED_LINK_TTL_S) {
    return { ok: false, reason: "The link's expiry is further away than any link this service signs." };
  }
  let mac: Uint8Array<ArrayBuffer>;
  try {
    mac = decodeBase64Url(query.signature);
  } catch {
    return { ok: false, reason: "The link's signature is not base64url." };
  }
  const valid = await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, signedText(jobId, etag, expires));
  return valid ? { ok: true } : {
    ok: false,
    reason: "The link's signature does not match this job's result (tampered, or the result changed).",
  };
}
