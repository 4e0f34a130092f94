import { createHmac } from "node:crypto";
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { signPayload, tenantSecret, verifySignature } from "../../../shared/webhook_signing.ts";

Deno.test("the tenant secret is HMAC-SHA256(signing key, tenant) and differs per tenant and per key", async () => {
  const secret = await tenantSecret("dev-webhook-key", "alice");
  equal(secret, `whsec_${createHmac("sha256", "dev-webhook-key").update("tenant:alice").digest("hex")}`);
  notEqual(secret, await tenantSecret("dev-webhook-key", "bob"));
  notEqual(secret, await tenantSecret("other-key", "alice"));
});

Deno.test("a signature is t=<seconds>,v1=HMAC-SHA256(secret, t.body), as an independent HMAC computes it", async () => {
  const body = JSON.stringify({ event: "job.completed", job_id: "job_x" });
  const header = await signPayload("whsec_test", body, 1_700_000_000);
  const expected = createHmac("sha256", "whsec_test").update(`1700000000.${body}`).digest("hex");
  equal(header, `t=1700000000,v1=${expected}`);
});

Deno.test("verification accepts the signed body and refuses a changed body, another secret, an old timestamp", async () => {
  const body = '{"event":"job.completed"}';
  const now = 1_700_000_000;
  const header = await signPayload("whsec_a", body, now);
  deepEqual(await verifySignature("whsec_a", body, header, now + 10), { ok: true, timestamp: now });
  equal((await verifySignature("whsec_a", body + " ", header, now)).ok, false);
  equal((await verifySignature("whsec_b", body, header, now)).ok, false);
  const replay = await verifySignature("whsec_a", body, header, now + 301);
  deepEqual(replay, { ok: false, reason: "timestamp outside the tolerance" });
  // Moving t forward to pass the window breaks the signature.
  const forged = header.replace(`t=${now}`, `t=${now + 301}`);
  equal((await verifySignature("whsec_a", body, forged, now + 301)).ok, false);
  equal((await verifySignature("whsec_a", body, null, now)).ok, false);
  equal((await verifySignature("whsec_a", body, "garbage", now)).ok, false);
  ok((await verifySignature("whsec_a", body, `${header},v1=deadbeef`, now)).ok, "any matching v1 passes");
});
