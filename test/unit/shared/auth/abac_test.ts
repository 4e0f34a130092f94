import { ok, throws } from "node:assert/strict";
import { assertCanPublish, assertCanRead, assertOperator, bboxWithin } from "../../../../shared/auth/abac.ts";
import { ForbiddenError } from "../../../../shared/problem.ts";
import { captureLogs } from "../../src/auth/test_tokens.ts";

const forbidden = (err: unknown) => err instanceof ForbiddenError && err.status === 403;

Deno.test("bboxWithin treats shared edges as inside", () => {
  ok(bboxWithin([0, 0, 1, 1], [0, 0, 1, 1]));
  ok(!bboxWithin([0, 0, 1.0001, 1], [0, 0, 1, 1]));
});

Deno.test("assertCanRead orders public < internal < confidential < restricted", () => {
  const logs = captureLogs();
  try {
    assertCanRead("public", "internal");
    assertCanRead("internal", "internal");
    assertCanRead("confidential", "restricted");
    throws(() => assertCanRead("confidential", "internal"), forbidden);
    throws(() => assertCanRead("restricted", "public"), forbidden);
  } finally {
    logs.restore();
  }
});

Deno.test("assertCanPublish allows new datasets and the owner, denies other domains", () => {
  const logs = captureLogs();
  try {
    assertCanPublish(undefined, "transport");
    assertCanPublish("transport", "transport");
    throws(() => assertCanPublish("health", "transport"), forbidden);
  } finally {
    logs.restore();
  }
});

Deno.test("assertOperator needs roles to include operator", () => {
  const logs = captureLogs();
  try {
    assertOperator({ sub: "a", roles: ["operator", "x"] });
    throws(() => assertOperator({ sub: "a", roles: ["admin"] }), forbidden);
    throws(() => assertOperator({ sub: "a" }), forbidden);
  } finally {
    logs.restore();
  }
});
