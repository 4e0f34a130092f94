import { equal, rejects, throws } from "node:assert/strict";
import { jsonDepth, parseJsonBytes, readBodyCapped } from "../../../../src/http/body.ts";
import { PayloadTooLargeError, ValidationError } from "../../../../shared/problem.ts";

const enc = new TextEncoder();

function chunkedRequest(chunks: number, size: number, onPull: () => void): Request {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      onPull();
      if (sent++ >= chunks) controller.close();
      else controller.enqueue(new Uint8Array(size));
    },
  });
  return new Request("http://x/", { method: "POST", body });
}

Deno.test("readBodyCapped stops reading a stream without Content-Length as soon as it passes the limit", async () => {
  let pulls = 0;
  await rejects(readBodyCapped(chunkedRequest(1000, 1024, () => pulls++), 4096), PayloadTooLargeError);
  equal(pulls <= 6, true, `read ${pulls} chunks of a 1000-chunk body`);
});

Deno.test("readBodyCapped returns the whole body under the limit", async () => {
  const bytes = await readBodyCapped(chunkedRequest(3, 10, () => {}), 100);
  equal(bytes.byteLength, 30);
});

Deno.test("jsonDepth counts nesting and ignores brackets inside strings", () => {
  equal(jsonDepth('{"a":[1,{"b":"[[[["}]}'), 3);
  equal(jsonDepth("1"), 0);
  equal(jsonDepth("[".repeat(100)), Infinity);
  equal(jsonDepth('"\\"[["'), 0);
});

Deno.test("parseJsonBytes: syntax errors, empty bodies and bad UTF-8 are 400; deep nesting is 422", () => {
  const status = (b: Uint8Array) => {
    try {
      parseJsonBytes(b);
      return 0;
    } catch (e) {
      return (e as ValidationError).status;
    }
  };
  equal(status(enc.encode("{bad")), 400);
  equal(status(enc.encode("  ")), 400);
  equal(status(new Uint8Array([0x7b, 0xff, 0x7d])), 400);
  equal(status(enc.encode("[".repeat(40) + "]".repeat(40))), 422);
  throws(() => parseJsonBytes(enc.encode("{")), ValidationError);
  equal((parseJsonBytes(enc.encode('\uFEFF{"a":1}')) as { a: number }).a, 1);
});
