/** Setting a header on the answer a middleware finds once the handler has run. */

/**
 * Sets `name` on `c.res`: in place, or on a copy when its headers are immutable (a response passed through from a
 * `fetch` or an R2 body).
 */
export function setResponseHeader(c: { res: Response }, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set(name, value);
  }
}
