/** Whether the client itself asked for a gzip-coded response. */
import { parseAccept } from "hono/utils/accept";

/**
 * True when the client's `Accept-Encoding` lists gzip (or `*`) with a non-zero weight. Cloudflare's front line,
 * and workerd under wrangler dev, hand the Worker `Accept-Encoding: br, gzip` whatever the client sent and keep
 * the client's own header in `request.cf.clientAcceptEncoding`, so that is read first. A client that sends no
 * `Accept-Encoding` gets identity bytes: RFC 9110 would allow any coding, but `curl -o x.geojson` must save a file
 * GDAL and QGIS open.
 */
export function clientAcceptsGzip(request: Request): boolean {
  const cf = (request as { cf?: { clientAcceptEncoding?: unknown } }).cf;
  const header = typeof cf?.clientAcceptEncoding === "string"
    ? cf.clientAcceptEncoding
    : request.headers.get("accept-encoding") ?? "";
  const accepted = parseAccept(header);
  const gzip = accepted.find((a) => a.type === "gzip" || a.type === "x-gzip") ?? accepted.find((a) => a.type === "*");
  return gzip !== undefined && gzip.q > 0;
}
