import { deepEqual } from "node:assert/strict";
import { createLogger, logSink, setLogLevel } from "../../../../shared/telemetry/log.ts";

Deno.test("lines below the configured level are not written; an unknown level changes nothing", () => {
  const written: string[] = [];
  const original = logSink.write;
  logSink.write = (_line, level) => void written.push(level);
  try {
    const logger = createLogger({ trace_id: "t" });
    const all = () => ["debug", "info", "warn", "error"].forEach((l) => logger[l as "info"]("m"));
    setLogLevel("warn");
    all();
    setLogLevel("verbose");
    all();
    setLogLevel("debug");
    all();
    deepEqual(written, ["warn", "error", "warn", "error", "debug", "info", "warn", "error"]);
  } finally {
    setLogLevel("info");
    logSink.write = original;
  }
});
