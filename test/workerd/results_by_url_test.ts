/**
 * Results that tools open directly (API.md, "Results that tools open directly"): GET/HEAD with Range, 304 and
 * Accept-Encoding as curl sends them, a signed link that needs no Authorization header and that GDAL's
 * `/vsicurl/` opens, and CORS for browser clients. Checked with the real tools (curl, ogrinfo).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { startService } from "./harness.ts";
import { authHeaders, type JobStatusDocument, publishFixtures, runJob, token } from "./client.ts";
import { signResultLink } from "../../src/results/signed_link.ts";

/** The dev key from `.dev.vars.example`, which the harness's dev server reads. */
const DEV_RESULT_LINK_KEY = "dev-result-link-key";

interface Curl {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Runs curl (no --compressed unless asked) and returns the last response's status, headers and body bytes. */
async function curl(args: string[]): Promise<Curl> {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("curl", {
      args: ["-s", "-S", "-D", `${dir}/headers`, "-o", `${dir}/body`, ...args],
    }).output();
    if (!out.success) throw new Error(`curl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    const blocks = (await Deno.readTextFile(`${dir}/headers`)).trim().split(/\r?\n\r?\n/);
    const [statusLine, ...lines] = blocks.at(-1)!.split(/\r?\n/);
    const headers = new Headers();
    for (const line of lines) {
      const at = line.indexOf(":");
      headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
    }
    const body = await Deno.readFile(`${dir}/body`).catch(() => new Uint8Array());
    return { status: Number(statusLine!.split(" ")[1]), headers, body };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `ogrinfo -so -al` on `source`: the feature count it reports. */
async function ogrFeatureCount(source: string): Promise<number> {
  const out = await new Deno.Command("ogrinfo", { args: ["-ro", "-so", "-al", source] }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`ogrinfo ${source}: ${new TextDecoder().decode(out.stderr)}\n${text}`);
  return Number(/Feature Count: (\d+)/.exec(text)?.[1]);
}

/** Where the results are stored: as R2 objects, or (under `INLINE_RESULT_BYTES`) in the job's record. */
const STORES = { "R2 objects": "0", "kept in the job's record": String(2 ** 20) } as const;

for (const [store, inlineBytes] of Object.entries(STORES)) {
  Deno.test(`results by URL (${store}): Range, HEAD, encodings, signed links and CORS, as curl and GDAL use them`, async (t) => {
    const service = await startService({ vars: { INLINE_RESULT_BYTES: inlineBytes } });
    try {
      await publishFixtures(service, ["counties", "grid"]);
      const job = (output_format: string) => ({
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
        output_format,
      });
      const [fgb, geojson] = await Promise.all([runJob(service, job("flatgeobuf")), runJob(service, job("geojson"))]);
      for (const status of [fgb, geojson]) equal(status.status, "COMPLETED", JSON.stringify(status));
      const auth = `authorization: Bearer ${await token()}`;
      const url = (status: JobStatusDocument) => `${service.url}/v1/jobs/${status.job_id}/result`;
      const whole = await curl(["-H", auth, url(fgb)]);
      equal(whole.status, 200);
      equal(whole.body.length, fgb.result!.bytes);

      await t.step(`the results are ${store}`, async () => {
        for (const status of [fgb, geojson]) {
          const objects = await (await service.fetch(`/v1/ops/jobs/${status.job_id}/objects`, {
            headers: await authHeaders({ roles: ["operator"] }),
          })).json();
          const inline = inlineBytes !== "0";
          equal(objects.results.length, inline ? 0 : 1, JSON.stringify(objects));
          equal(objects.committed === null, inline);
          equal(objects.inline_result ?? false, inline);
        }
      });

      await t.step("curl -r 0-7 on a FlatGeobuf result gives 206 and the magic bytes", async () => {
        const part = await curl(["-H", auth, "-r", "0-7", url(fgb)]);
        equal(part.status, 206);
        equal(new TextDecoder().decode(part.body.subarray(0, 7)), "fgb\x03fgb");
        deepEqual(part.body, whole.body.subarray(0, 8));
        equal(part.headers.get("content-range"), `bytes 0-7/${fgb.result!.bytes}`);
        equal(part.headers.get("etag"), fgb.result!.etag);
        const tail = await curl(["-H", auth, "-r", "-100", url(fgb)]);
        equal(tail.status, 206);
        deepEqual(tail.body, whole.body.subarray(whole.body.length - 100));
      });

      await t.step("several ranges get the whole result (200); a range past the end is a 416", async () => {
        const several = await curl(["-H", auth, "-r", "0-3,10-20", url(fgb)]);
        equal(several.status, 200);
        deepEqual(several.body, whole.body);
        const past = await curl(["-H", auth, "-r", `${fgb.result!.bytes}-`, url(fgb)]);
        equal(past.status, 416);
        equal(past.headers.get("content-range"), `bytes */${fgb.result!.bytes}`);
        equal(JSON.parse(new TextDecoder().decode(past.body)).status, 416);
      });

      await t.step("If-Range with another ETag gets the whole result, with the current one the range", async () => {
        const stale = await curl(["-H", auth, "-r", "0-7", "-H", 'if-range: "stale"', url(fgb)]);
        equal(stale.status, 200);
        equal(stale.body.length, fgb.result!.bytes);
        const current = await curl(["-H", auth, "-r", "0-7", "-H", `if-range: ${fgb.result!.etag}`, url(fgb)]);
        equal(current.status, 206);
      });

      await t.step("HEAD sends the Content-Length of the representation a GET would send", async () => {
        const head = await curl(["-I", "-H", auth, url(fgb)]);
        equal(head.status, 200);
        equal(head.headers.get("content-length"), String(fgb.result!.bytes));
        equal(head.headers.get("accept-ranges"), "bytes");
        const plain = await curl(["-I", "-H", auth, url(geojson)]);
        equal(plain.headers.get("content-length"), String(geojson.result!.bytes));
        equal(plain.headers.get("content-encoding"), null);
        const gzip = await curl(["-I", "-H", auth, "-H", "accept-encoding: gzip", url(geojson)]);
        equal(gzip.headers.get("content-encoding"), "gzip");
        const stored = await curl(["-H", auth, "-H", "accept-encoding: gzip", url(geojson)]);
        equal(gzip.headers.get("content-length"), String(stored.body.length));
        const ranged = await curl(["-I", "-H", auth, "-r", "10-19", url(geojson)]);
        equal(ranged.status, 206);
        equal(ranged.headers.get("content-length"), "10");
      });

      await t.step("curl -o x.geojson saves identity GeoJSON that ogrinfo opens; --compressed gets gzip", async () => {
        const dir = await Deno.makeTempDir();
        try {
          const file = `${dir}/x.geojson`;
          const saved = await new Deno.Command("curl", { args: ["-s", "-f", "-H", auth, "-o", file, url(geojson)] })
            .output();
          ok(saved.success);
          const bytes = await Deno.readFile(file);
          equal(bytes.length, geojson.result!.bytes);
          equal(JSON.parse(new TextDecoder().decode(bytes)).features.length, geojson.result!.feature_count);
          equal(await ogrFeatureCount(file), geojson.result!.feature_count);
          const compressed = await curl(["--compressed", "-H", auth, url(geojson)]);
          equal(compressed.headers.get("content-encoding"), "gzip");
          equal(compressed.headers.get("etag"), geojson.result!.etag);
          deepEqual(compressed.body, bytes, "curl --compressed decodes to the same file");
          const raw = await curl(["-H", auth, "-H", "accept-encoding: gzip", url(geojson)]);
          deepEqual(new Uint8Array(gunzipSync(raw.body)), bytes);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });

      await t.step("a Range on a gzip-stored GeoJSON result is served from its identity bytes", async () => {
        const identity = await curl(["-H", auth, url(geojson)]);
        const part = await curl(["-H", auth, "-H", "accept-encoding: gzip", "-r", "1000-1999", url(geojson)]);
        equal(part.status, 206);
        equal(part.headers.get("content-encoding") ?? "identity", "identity");
        equal(part.headers.get("content-range"), `bytes 1000-1999/${geojson.result!.bytes}`);
        deepEqual(part.body, identity.body.subarray(1000, 2000));
      });

      await t.step("If-None-Match with the ETag is a 304 for GET and HEAD", async () => {
        const get = await curl(["-H", auth, "-H", `if-none-match: ${fgb.result!.etag}`, url(fgb)]);
        equal(get.status, 304);
        const head = await curl(["-I", "-H", auth, "-H", `if-none-match: ${fgb.result!.etag}`, url(fgb)]);
        equal(head.status, 304);
      });

      await t.step("result.signed_href opens without Authorization, in curl and in GDAL's /vsicurl/", async () => {
        for (const status of [fgb, geojson]) {
          const href = status.result!.signed_href!;
          match(href, /^http:\/\/127\.0\.0\.1:\d+\/v1\/jobs\/[^?]+\/result\?expires=\d+&signature=[\w-]{43}$/);
          const expires = Number(new URL(href).searchParams.get("expires"));
          const now = Date.now() / 1000;
          ok(expires > now && expires <= now + 3600 + 5, `expires ${expires - now} s from now`);
          const fetched = await curl([href]);
          equal(fetched.status, 200);
          equal(fetched.body.length, status.result!.bytes);
          equal(await ogrFeatureCount(`/vsicurl/${href}`), status.result!.feature_count);
        }
        const fgbPart = await curl(["-r", "0-7", fgb.result!.signed_href!]);
        equal(fgbPart.status, 206);
      });

      await t.step(
        "an expired, tampered or foreign signed link is refused with 403, and no link is a 401",
        async () => {
          const href = new URL(fgb.result!.signed_href!);
          const refused = async (link: string) => {
            const response = await curl([link]);
            equal(response.status, 403, link);
            equal(JSON.parse(new TextDecoder().decode(response.body)).status, 403);
          };
          const tampered = new URL(href);
          const signature = tampered.searchParams.get("signature")!;
          tampered.searchParams.set("signature", (signature[0] === "A" ? "B" : "A") + signature.slice(1));
          await refused(tampered.href);
          const later = new URL(href);
          later.searchParams.set("expires", String(Number(href.searchParams.get("expires")) + 1));
          await refused(later.href);
          const past = Math.floor(Date.now() / 1000) - 10;
          const expired = `${service.url}/v1/jobs/${fgb.job_id}/result?` +
            await signResultLink(DEV_RESULT_LINK_KEY, fgb.job_id, fgb.result!.etag, past);
          await refused(expired);
          // The signature of one job's link on another job's result.
          await refused(`${service.url}/v1/jobs/${geojson.job_id}/result${href.search}`);
          const unsigned = await curl([`${service.url}/v1/jobs/${fgb.job_id}/result`]);
          equal(unsigned.status, 401);
        },
      );

      await t.step("the status document offers a signed link only to a caller who may read the result", async () => {
        // An operator sees every job; one whose scope does not cover the job's data gets no link to it.
        const operator = {
          sub: "ops",
          roles: ["operator"],
          spatial_scope: [0, 0, 1, 1] as [number, number, number, number],
        };
        const seen = await service.fetch(`/v1/jobs/${fgb.job_id}`, { headers: await authHeaders(operator) });
        equal(seen.status, 200);
        const doc = await seen.json();
        equal(doc.result.etag, fgb.result!.etag);
        equal(doc.result.signed_href, undefined);
      });

      await t.step("CORS: a preflight from any origin is answered, and the result's headers are exposed", async () => {
        const preflight = await curl([
          "-X",
          "OPTIONS",
          "-H",
          "origin: https://app.example",
          "-H",
          "access-control-request-method: GET",
          "-H",
          "access-control-request-headers: authorization, range",
          url(fgb),
        ]);
        equal(preflight.status, 204);
        equal(preflight.headers.get("access-control-allow-origin"), "*");
        match(preflight.headers.get("access-control-allow-headers") ?? "", /Range/i);
        const get = await curl(["-H", auth, "-H", "origin: https://app.example", "-r", "0-7", url(fgb)]);
        equal(get.headers.get("access-control-allow-origin"), "*");
        match(get.headers.get("access-control-expose-headers") ?? "", /Content-Range/);
      });
    } finally {
      await service.stop("SIGTERM");
    }
  });
}
