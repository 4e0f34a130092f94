/**
 * `/docs` in a real browser (Debian's headless Chromium, driven by puppeteer-core): Swagger UI renders every
 * operation of the service's /openapi.json, and the page fetches nothing from another host.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
// @ts-types="./ogc/puppeteer_core.d.ts"
import puppeteer from "puppeteer-core";
import { startService } from "./harness.ts";

Deno.test("/docs lists every operation of /openapi.json in a browser, from the service alone", async () => {
  const service = await startService();
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  try {
    const doc = await (await service.fetch("/openapi.json")).json();
    const operationIds = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>)
      .flatMap((item) => Object.values(item).map((operation) => operation.operationId)).sort();

    const page = await browser.newPage();
    const requested: string[] = [];
    page.on("request", (request) => void requested.push(request.url()));
    const response = await page.goto(`${service.url}/docs`);
    equal(response?.status(), 200);
    await page.waitForSelector(".opblock .opblock-summary-operation-id", { timeout: 60_000 });
    // Evaluated in the page (a string: this file is type-checked without the DOM's types).
    const shown = await page.evaluate(`(() => {
      return [...document.querySelectorAll(".opblock .opblock-summary-operation-id")].map((e) => e.textContent.trim());
    })()`) as string[];
    deepEqual([...shown].sort(), operationIds);

    const origin = new URL(service.url).origin;
    const elsewhere = requested.filter((url) => /^(https?|wss?):/.test(url) && new URL(url).origin !== origin);
    deepEqual(elsewhere, [], "requests to other hosts");
    const paths = requested.map((url) => new URL(url).pathname);
    for (
      const path of ["/openapi.json", "/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"]
    ) {
      ok(paths.includes(path), `${path} loaded from the service`);
    }
  } finally {
    await browser.close();
    await service.stop();
  }
});

Deno.test("static files come from the assets and every other path from the Worker, a missing file included", async () => {
  const service = await startService();
  try {
    const file = await service.fetch("/static/swagger-ui/swagger-ui.css");
    equal(file.status, 200);
    ok((await file.text()).length > 1000);
    // The API's paths skip the assets' lookup (wrangler.toml run_worker_first); the rest keep it and fall through.
    for (const path of ["/static/no-such-file.js", "/no-such-route", "/v1/jobs/no-such-job", "/jobs/no-such-job"]) {
      const response = await service.fetch(path);
      equal(response.headers.get("content-type"), "application/problem+json", path);
      const problem = await response.json();
      equal(problem.status, response.status, path);
      ok([401, 404].includes(response.status), `${path}: ${response.status}`);
    }
  } finally {
    await service.stop();
  }
});
