/** Offers h3-js the size of its heap while it evaluates (see ./h3_heap.ts). No imports: it runs before h3-js. */
export const H3_HEAP_BYTES = 16 * 1024 * 1024;

Object.defineProperty(Object.prototype, "TOTAL_MEMORY", { value: H3_HEAP_BYTES, configurable: true, writable: true });
