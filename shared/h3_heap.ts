/**
 * h3-js sized to its work. It is emscripten output that allocates its heap when its module evaluates: 32 MiB unless
 * its module object names a `TOTAL_MEMORY`, a quarter of a 128 MB isolate, where H3's static data takes 5 MiB and the
 * heap grows in 16 MiB steps when a call needs more. That object is a `{}` h3-js makes itself (its `libh3` hook is
 * shadowed in an ES module), so the size is offered on `Object.prototype` (not enumerable) while h3-js evaluates
 * and taken back right after. The Worker's entry (src/worker.ts) imports this module before anything else.
 */
import "./h3_heap_offer.ts";
import "h3-js";

delete (Object.prototype as { TOTAL_MEMORY?: number }).TOTAL_MEMORY;
