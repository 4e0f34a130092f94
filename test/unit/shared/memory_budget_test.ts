import { deepEqual, equal, rejects } from "node:assert/strict";
import { LeaseTooLargeError, MemoryBudget } from "../../../shared/memory_budget.ts";

/** Lets every settled promise's continuations run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("memory budget: leases are granted at once while they fit, and one past the budget waits for a release", async () => {
  const budget = new MemoryBudget(100);
  const a = await budget.acquire(60);
  const b = await budget.acquire(40);
  equal(budget.heldBytes, 100);
  let granted = false;
  const c = budget.acquire(70).then((lease) => (granted = true, lease));
  await settle();
  equal(granted, false);
  equal(budget.waiting, 1);
  b.release();
  await settle();
  equal(granted, false, "40 bytes free do not fit 70");
  a.release();
  await settle();
  equal(granted, true);
  equal(budget.heldBytes, 70);
  equal(budget.peakBytes, 100);
  equal(budget.waits, 1);
  (await c).release();
  equal(budget.heldBytes, 0);
});

Deno.test("memory budget: waiters are served in order, so a large lease is not overtaken by later small ones", async () => {
  const budget = new MemoryBudget(100);
  const first = await budget.acquire(50);
  const order: string[] = [];
  const large = budget.acquire(80).then((lease) => (order.push("large"), lease));
  const small = budget.acquire(10).then((lease) => (order.push("small"), lease));
  await settle();
  deepEqual(order, [], "the small lease fits in the 50 free bytes but waits behind the large one");
  first.release();
  await settle();
  deepEqual(order, ["large", "small"]);
  equal(budget.heldBytes, 90);
  (await large).release();
  (await small).release();
  equal(budget.heldBytes, 0);
});

Deno.test("memory budget: a lease is released once, by release() or at the end of a `using` scope", async () => {
  const budget = new MemoryBudget(100);
  {
    using _lease = await budget.acquire(70);
    equal(budget.heldBytes, 70);
  }
  equal(budget.heldBytes, 0);
  const lease = await budget.acquire(70);
  const other = await budget.acquire(30);
  lease.release();
  lease.release();
  equal(budget.heldBytes, 30, "a second release frees nothing more");
  other[Symbol.dispose]();
  equal(budget.heldBytes, 0);
});

Deno.test("memory budget: a lease larger than the whole budget is refused at once instead of waiting forever", async () => {
  const budget = new MemoryBudget(100);
  await rejects(budget.acquire(101), LeaseTooLargeError);
  await rejects(budget.acquire(-1), RangeError);
  equal(budget.heldBytes, 0);
  equal(budget.waiting, 0);
});
