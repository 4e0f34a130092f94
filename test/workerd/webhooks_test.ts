/**
 * Webhook callbacks against real workerd and real local receivers: signed,
 * retried with backoff until accepted (one delivery id per event), redirects
 * not followed, a per-host circuit breaker that opens on a failing receiver
 * and closes when it recovers, delivery apart from job work (a slow receiver
 * delays no job), and the default destination policy. The receivers run on
 * 127.0.0.1, so these services start with the loopback opt-in
 * (`WEBHOOK_ALLOW_LOOPBACK=true`), which the shipped configuration does not have.
 */
import { createHmac } from "node:crypto";
import { equal, match, ok } from "node:assert/strict";
import { verifySignature } from "../../shared/webhook_signing.ts";
import { type Service, startService } from "./harness.ts";
import { authHeaders, publish, submit, waitForJob } from "./client.ts";
import { homeCellOf } from "../../src/routing/job_id.ts";

interface Received {
  at: number;
  headers: Headers;
  body: string;
  answered: number;
}

/** A local receiver on 127.0.0.1 (free port) whose answer to the n-th request (from 0) is `answer(n)`. */
function receiver(answer: (n: number) => Response | Promise<Response>) {
  const requests: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const body = await request.text();
    const response = await answer(requests.length);
    requests.push({ at: Date.now(), headers: request.headers, body, answered: response.status });
    return response;
  });
  return { requests, url: `http://127.0.0.1:${server.addr.port}/hook`, close: () => server.shutdown() };
}

const square = (x0: number, y0: number, x1: number, y1: number) => ({
  type: "Polygon",
  coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
});

const job = (callback_url: string) => ({
  spatial_operation: "point_in_polygon",
  geometry_payload: {
    type: "FeatureCollection",
    features: [{ type: "Feature", id: "p", properties: {}, geometry: { type: "Point", coordinates: [0.5, 0.5] } }],
  },
  dataset: "zones",
  callback_url,
});

interface WebhookView {
  url_host: string;
  event: string;
  delivery_id: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

async function statusOf(service: Service, jobId: string): Promise<{ status: string; webhook?: WebhookView }> {
  return await (await service.fetch(`/v1/jobs/${jobId}`, { headers: await authHeaders() })).json();
}

/** Polls the status document until `done(webhook)` (or fails after `timeoutMs`). */
async function waitForWebhook(
  service: Service,
  jobId: string,
  done: (w: WebhookView) => boolean,
  timeoutMs = 20_000,
): Promise<WebhookView> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const doc = await statusOf(service, jobId);
    last = doc;
    if (doc.webhook && done(doc.webhook)) return doc.webhook;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`webhook of ${jobId} did not reach the expected state: ${JSON.stringify(last)}`);
}

async function submitJob(service: Service, callbackUrl: string): Promise<{ jobId: string; traceId: string }> {
  const response = await submit(service, job(callbackUrl));
  const body = await response.json();
  equal(response.status, 202, JSON.stringify(body));
  return { jobId: body.job_id, traceId: response.headers.get("x-request-trace-id")! };
}

const devSigningKey = async () =>
  /^WEBHOOK_SIGNING_KEY=(.*)$/m.exec(await Deno.readTextFile(new URL("../../.dev.vars.example", import.meta.url)))![1]!;

// Long enough that the steps below finish inside it on a loaded machine (2 s was not).
const COOLDOWN_MS = 5_000;
const ALLOW_LOOPBACK = { WEBHOOK_ALLOW_LOOPBACK: "true" };

Deno.test("webhook callbacks: signed, retried until accepted, redirects not followed, per-host circuit breaker, destination policy", async (t) => {
  const service = await startService({
    vars: {
      ...ALLOW_LOOPBACK,
      WEBHOOK_BACKOFF_BASE_MS: "50",
      WEBHOOK_MAX_ATTEMPTS: "4",
      WEBHOOK_TIMEOUT_MS: "3000",
      WEBHOOK_BREAKER_THRESHOLD: "3",
      WEBHOOK_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
    },
  });
  const flaky = receiver((n) => new Response(n < 2 ? "busy" : "ok", { status: n < 2 ? 500 : 200 }));
  let deadIsDown = true;
  const dead = receiver(() => new Response(null, { status: deadIsDown ? 503 : 204 }));
  const target = receiver(() => new Response("should not be reached", { status: 200 }));
  const redirecting = receiver(() => new Response(null, { status: 302, headers: { location: target.url } }));
  try {
    const zones = JSON.stringify({
      type: "FeatureCollection",
      features: [{ type: "Feature", id: 1, properties: {}, geometry: square(0, 0, 1, 1) }],
    });
    equal((await publish(service, "zones", zones)).status, 201);

    let secret = "";
    await t.step(
      "GET /v1/webhooks/secret returns the caller's secret, HMAC-SHA256(WEBHOOK_SIGNING_KEY, tenant)",
      async () => {
        const response = await service.fetch("/v1/webhooks/secret", { headers: await authHeaders() });
        const body = await response.json();
        equal(response.status, 200, JSON.stringify(body));
        secret = body.secret;
        equal(secret, `whsec_${createHmac("sha256", await devSigningKey()).update("tenant:tester").digest("hex")}`);
        equal(body.signature_header, "X-Spatial-Jobs-Signature");
        equal(body.tolerance_seconds, 300);
        const other = await (await service.fetch("/v1/webhooks/secret", {
          headers: await authHeaders({ sub: "someone-else" }),
        })).json();
        ok(other.secret.startsWith("whsec_") && other.secret !== secret, "each tenant has its own secret");
        equal((await service.fetch("/v1/webhooks/secret")).status, 401);
      },
    );

    // The three jobs run concurrently; each step below checks one of them.
    const flakyJob = await submitJob(service, flaky.url);
    const redirectJob = await submitJob(service, redirecting.url);
    const deadJob = await submitJob(service, dead.url);

    await t.step(
      "a receiver failing twice then accepting gets exactly one accepted delivery, signed, same id on every try",
      async () => {
        equal((await waitForJob(service, flakyJob.jobId)).status, "COMPLETED");
        const webhook = await waitForWebhook(service, flakyJob.jobId, (w) => w.state !== "PENDING");
        equal(webhook.state, "DELIVERED", JSON.stringify(webhook));
        equal(webhook.attempts, 3);
        equal(webhook.last_status, 200);
        equal(webhook.event, "job.completed");
        equal(webhook.url_host, new URL(flaky.url).host);
        ok(webhook.delivered_at);

        await new Promise((r) => setTimeout(r, 500)); // nothing more arrives after the 2xx
        equal(flaky.requests.length, 3);
        equal(flaky.requests.map((r) => r.answered).join(","), "500,500,200");
        equal(flaky.requests.filter((r) => r.answered === 200).length, 1, "exactly one accepted delivery");
        const ids = new Set(flaky.requests.map((r) => r.headers.get("x-spatial-jobs-delivery")));
        equal(ids.size, 1, "the delivery id is stable across retries");
        equal([...ids][0], webhook.delivery_id);
        for (const request of flaky.requests) {
          const verdict = await verifySignature(secret, request.body, request.headers.get("x-spatial-jobs-signature"));
          ok(verdict.ok, JSON.stringify(verdict));
          if (verdict.ok) ok(Math.abs(verdict.timestamp * 1000 - request.at) < 5_000, "the timestamp is recent");
          equal(request.headers.get("content-type"), "application/json");
          equal(request.headers.get("x-spatial-jobs-event"), "job.completed");
          equal(request.headers.get("x-request-trace-id"), flakyJob.traceId);
          match(request.headers.get("traceparent") ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
        }
        const tampered = await verifySignature(
          secret,
          flaky.requests[2]!.body.replace("COMPLETED", "FAILED"),
          flaky.requests[2]!.headers.get("x-spatial-jobs-signature"),
        );
        equal(tampered.ok, false, "a changed body does not verify");
        const payload = JSON.parse(flaky.requests[2]!.body);
        equal(payload.event, "job.completed");
        equal(payload.delivery_id, webhook.delivery_id);
        equal(payload.job_id, flakyJob.jobId);
        equal(payload.status, "COMPLETED");
        equal(payload.trace_id, flakyJob.traceId);
        equal(payload.result.href, `/v1/jobs/${flakyJob.jobId}/result`);
        ok(flaky.requests[1]!.at - flaky.requests[0]!.at >= 25, "retries wait for the backoff");
      },
    );

    await t.step(
      "a 302 is not followed: every attempt fails, the target is never called, the delivery gives up",
      async () => {
        const webhook = await waitForWebhook(service, redirectJob.jobId, (w) => w.state !== "PENDING");
        equal(webhook.state, "GAVE_UP", JSON.stringify(webhook));
        equal(webhook.attempts, 4, "WEBHOOK_MAX_ATTEMPTS");
        equal(webhook.last_status, 302);
        match(webhook.last_error ?? "", /redirect .*not followed/);
        equal(redirecting.requests.length, 4);
        equal(target.requests.length, 0);
      },
    );

    await t.step(
      "a failing host opens its breaker after 3 failures; deliveries there stop, without spending attempts",
      async () => {
        const open = await waitForWebhook(service, deadJob.jobId, (w) => /circuit open/.test(w.last_error ?? ""));
        equal(open.state, "PENDING");
        equal(open.attempts, 3);
        equal(open.last_status, 503);
        // Another job's event for the same host is held by the open breaker: no request, no attempt.
        const second = await submitJob(service, dead.url);
        equal((await waitForJob(service, second.jobId)).status, "COMPLETED");
        const held = await waitForWebhook(service, second.jobId, (w) => /circuit open/.test(w.last_error ?? ""));
        equal(held.attempts, 0);
        await new Promise((r) => setTimeout(r, 600)); // backoff alone would have retried by now
        equal((await statusOf(service, deadJob.jobId)).webhook?.attempts, 3);
        equal(dead.requests.length, 3, "nothing is sent to the host while its breaker is open");

        // The host recovers (with no await since the check above: the probe cannot slip in between); after the
        // cool-down one probe is admitted (half-open), succeeds, and the breaker closes.
        deadIsDown = false;
        const first = await waitForWebhook(service, deadJob.jobId, (w) => w.state !== "PENDING", COOLDOWN_MS + 10_000);
        equal(first.state, "DELIVERED", JSON.stringify(first));
        equal(first.attempts, 4);
        const probeAt = dead.requests[3]!.at;
        ok(probeAt - dead.requests[2]!.at >= COOLDOWN_MS - 100, "the probe waited for the cool-down");
        const other = await waitForWebhook(service, second.jobId, (w) => w.state !== "PENDING", COOLDOWN_MS + 10_000);
        equal(other.state, "DELIVERED", JSON.stringify(other));
        equal(other.attempts, 1, "the held delivery went out once the breaker closed");
        equal(dead.requests.length, 5);
        equal(new Set(dead.requests.map((r) => r.headers.get("x-spatial-jobs-delivery"))).size, 2);
      },
    );

    await t.step(
      "without the loopback opt-in (the default), loopback, private, metadata, IPv4-mapped, NAT64 and 6to4 " +
        "callback destinations are refused with 422, nothing written",
      async () => {
        await service.stop("SIGTERM");
        await service.restart({ vars: { WEBHOOK_ALLOW_LOOPBACK: "false" } }); // whatever a local .dev.vars says
        const before = await service.stateFingerprint();
        for (
          const url of [
            flaky.url,
            "https://127.0.0.1/hook",
            "https://2130706433/hook",
            "https://0x7f.1/hook",
            "https://localhost./hook",
            "https://[::1]/hook",
            "https://10.0.0.8/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00::1]/hook",
            "https://[::ffff:169.254.169.254]/hook",
            "https://[64:ff9b::a9fe:a9fe]/hook",
            "https://[2002:a9fe:a9fe::]/hook",
          ]
        ) {
          const response = await submit(service, job(url));
          const problem = await response.json();
          equal(response.status, 422, JSON.stringify(problem));
          equal(response.headers.get("content-type"), "application/problem+json");
          equal(problem.errors[0].path, "callback_url", JSON.stringify(problem));
        }
        equal(await service.stateFingerprint(), before);
      },
    );
  } finally {
    await service.stop("SIGTERM");
    await Promise.all([flaky.close(), dead.close(), target.close(), redirecting.close()]);
  }
});

Deno.test("a slow webhook receiver delays no job: another job in the same partition completes while its delivery is held", async () => {
  const HOLD_MS = 8_000;
  const service = await startService({ vars: { ...ALLOW_LOOPBACK, WEBHOOK_BACKOFF_BASE_MS: "100" } });
  let release = () => {};
  const held = new Promise<void>((r) => release = r);
  let first = true;
  // The first request is held for HOLD_MS and then answered 500 (a slow, failing receiver); the retry is accepted.
  const slow = receiver(async () => {
    if (!first) return new Response("ok");
    first = false;
    await Promise.race([held, new Promise((r) => setTimeout(r, HOLD_MS))]);
    return new Response("slow", { status: 500 });
  });
  const fast = receiver(() => new Response("ok"));
  try {
    const zones = JSON.stringify({
      type: "FeatureCollection",
      features: [{ type: "Feature", id: 1, properties: {}, geometry: square(0, 0, 1, 1) }],
    });
    equal((await publish(service, "zones", zones)).status, 201);
    const slowJob = await submitJob(service, slow.url);
    equal((await waitForJob(service, slowJob.jobId)).status, "COMPLETED");
    const deadline = Date.now() + 10_000;
    while (first && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    ok(!first, "the slow receiver has the first delivery in hand");

    const submittedAt = Date.now();
    const other = await submitJob(service, fast.url);
    equal(homeCellOf(other.jobId), homeCellOf(slowJob.jobId), "both jobs live in the same partition");
    equal((await waitForJob(service, other.jobId)).status, "COMPLETED");
    const completedIn = Date.now() - submittedAt;
    const fastHook = await waitForWebhook(service, other.jobId, (w) => w.state === "DELIVERED");
    const deliveredIn = Date.now() - submittedAt;
    ok(completedIn < HOLD_MS / 2, `the other job completed in ${completedIn} ms, while the slow delivery was held`);
    ok(deliveredIn < HOLD_MS / 2, `its own webhook was delivered in ${deliveredIn} ms`);
    equal(fastHook.attempts, 1);
    equal(slow.requests.length, 0, "the slow receiver's first request is still being held");

    release();
    const slowHook = await waitForWebhook(service, slowJob.jobId, (w) => w.state !== "PENDING");
    equal(slowHook.state, "DELIVERED", JSON.stringify(slowHook));
    equal(slowHook.attempts, 2, "the held attempt failed (500) and the retry was accepted");
    equal(slow.requests.map((r) => r.answered).join(","), "500,200");
    const secret = (await (await service.fetch("/v1/webhooks/secret", { headers: await authHeaders() })).json()).secret;
    for (const request of [...slow.requests, ...fast.requests]) {
      const verdict = await verifySignature(secret, request.body, request.headers.get("x-spatial-jobs-signature"));
      ok(verdict.ok, JSON.stringify(verdict));
    }
    equal(new Set(slow.requests.map((r) => r.headers.get("x-spatial-jobs-delivery"))).size, 1);
  } finally {
    release();
    await service.stop("SIGTERM");
    await Promise.all([slow.close(), fast.close()]);
  }
});
