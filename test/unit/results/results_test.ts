import { deepEqual, equal } from "node:assert/strict";
import { selectRange } from "../../../src/results/range.ts";
import { clientAcceptsGzip } from "../../../src/results/content_coding.ts";
import { signResultLink, verifyResultLink } from "../../../src/results/signed_link.ts";

Deno.test("selectRange serves one range, the whole result for several or a malformed one, 416 past the end", () => {
  deepEqual(selectRange("bytes=0-7", 100), { kind: "partial", start: 0, end: 7 });
  deepEqual(selectRange("bytes=90-", 100), { kind: "partial", start: 90, end: 99 });
  deepEqual(selectRange("bytes=-10", 100), { kind: "partial", start: 90, end: 99 });
  deepEqual(selectRange("bytes=95-200", 100), { kind: "partial", start: 95, end: 99 });
  deepEqual(selectRange("bytes=0-4,5-9", 100), { kind: "partial", start: 0, end: 9 }, "adjacent ranges merge");
  deepEqual(selectRange("bytes=0-4,50-59", 100), { kind: "full" });
  deepEqual(selectRange("bytes=9-3", 100), { kind: "full" });
  deepEqual(selectRange("items=0-1", 100), { kind: "full" });
  deepEqual(selectRange(undefined, 100), { kind: "full" });
  deepEqual(selectRange("bytes=100-", 100), { kind: "unsatisfiable" });
  deepEqual(selectRange("bytes=-5", 0), { kind: "full" }, "an empty result is sent whole");
});

Deno.test("clientAcceptsGzip reads the client's own Accept-Encoding (request.cf first) and needs gzip listed", () => {
  const request = (header: string | null, cf?: string) => {
    const r = new Request("http://x/", { headers: header === null ? {} : { "accept-encoding": header } });
    if (cf !== undefined) Object.defineProperty(r, "cf", { value: { clientAcceptEncoding: cf } });
    return r;
  };
  equal(clientAcceptsGzip(request("gzip, deflate")), true);
  equal(clientAcceptsGzip(request("*")), true);
  equal(clientAcceptsGzip(request("gzip;q=0, *")), false);
  equal(clientAcceptsGzip(request("identity")), false);
  equal(clientAcceptsGzip(request(null)), false, "no header: identity, so curl -o saves a plain file");
  equal(clientAcceptsGzip(request("br, gzip", "")), false, "the runtime's own header does not count");
  equal(clientAcceptsGzip(request("br, gzip", "gzip")), true);
});

Deno.test("a signed result link verifies for its job, ETag and expiry only", async () => {
  const now = 1_800_000_000;
  const query = Object.fromEntries(new URLSearchParams(await signResultLink("k", "job_a", '"e1"', now + 60)));
  equal((await verifyResultLink("k", "job_a", '"e1"', query, now)).ok, true);
  equal((await verifyResultLink("k", "job_b", '"e1"', query, now)).ok, false);
  equal((await verifyResultLink("k", "job_a", '"e2"', query, now)).ok, false, "another ETag: the result changed");
  equal((await verifyResultLink("other", "job_a", '"e1"', query, now)).ok, false);
  equal((await verifyResultLink("k", "job_a", '"e1"', query, now + 61)).ok, false, "expired");
  equal((await verifyResultLink("k", "job_a", '"e1"', { ...query, expires: String(now + 61) }, now)).ok, false);
  const far = Object.fromEntries(new URLSearchParams(await signResultLink("k", "job_a", '"e1"', now + 7200)));
  equal((await verifyResultLink("k", "job_a", '"e1"', far, now)).ok, false, "longer than an hour");
  equal((await verifyResultLink("k", "job_a", '"e1"', { expires: query.expires, signature: "%%%" }, now)).ok, false);
});
