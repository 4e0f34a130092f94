/**
 * The job page in a real browser (Debian's headless Chromium, driven by puppeteer-core): a J2 job (every us-atlas
 * county × the 1° CONUS grid, polygon_intersection, FlatGeobuf result) submitted through the OGC API, then its page:
 * the map draws the result over the outlines, the DOM shows the status and feature count, and nothing is fetched
 * from another host. `OGC_MAP_SCREENSHOT=docs/ogc_job_map.png` saves the screenshot the README shows; runs do not
 * rewrite it otherwise.
 */
import { equal, ok } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
// @ts-types="./ogc/puppeteer_core.d.ts"
import puppeteer from "puppeteer-core";
import { conusGrid, counties } from "../../scripts/bench/datasets.ts";
import { startService } from "./harness.ts";
import { authHeaders, publish, token, waitForJob } from "./client.ts";

const SCREENSHOT = Deno.env.get("OGC_MAP_SCREENSHOT");
const VIEWPORT = { width: 1280, height: 800 };
/** The map's share of the page: right of the 22rem status panel, below the header. */
const MAP_AREA = { x: 380, y: 60, width: 880, height: 720 };
/** Luminance standard deviation of the map area: 0 for a blank (one-colour) map; 66.5 with J2 drawn when written. */
const MIN_STDDEV = 20;

Deno.test("the job page of a completed J2 job draws its result on a map, from the service alone", async () => {
  const service = await startService();
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
  });
  try {
    for (
      const [name, features, query] of [
        ["counties", counties(), "classification=public&repair=true"],
        ["conus_grid", conusGrid(), "classification=public"],
      ] as const
    ) {
      const response = await publish(service, name, JSON.stringify({ type: "FeatureCollection", features }), { query });
      equal(response.status, 201, await response.text());
    }
    const executed = await service.fetch("/processes/polygon_intersection/execution", {
      method: "POST",
      headers: { ...(await authHeaders()), "content-type": "application/json", prefer: "respond-async" },
      body: JSON.stringify({
        inputs: { left_dataset: "counties", dataset: "conus_grid", output_format: "flatgeobuf" },
      }),
    });
    equal(executed.status, 201);
    const { jobID } = await executed.json();
    const job = await waitForJob(service, jobID, 300_000);
    equal(job.status, "COMPLETED");
    const featureCount = job.result!.feature_count;
    ok(featureCount > 5_000, `a J2-sized result (${featureCount} features)`);

    const page = await browser.newPage();
    await page.setViewport(VIEWPORT);
    const requested: string[] = [];
    page.on("request", (request) => void requested.push(request.url()));
    const jwt = await token();
    await page.goto(`${service.url}/jobs/${jobID}?f=html&access_token=${jwt}`);
    await page.waitForSelector("#job[data-state=done], #job[data-state=error]", { timeout: 180_000 });
    // Evaluated in the page (a string: this file is type-checked without the DOM's types).
    const dom = await page.evaluate(`(() => {
      const text = (id) => document.getElementById(id).textContent;
      return {
        state: document.getElementById("job").dataset.state,
        status: text("status"),
        count: text("feature-count"),
        legend: text("legend-count"),
        error: text("error"),
        href: location.href,
        canvas: document.querySelector("#map canvas") !== null,
      };
    })()`) as Record<string, string | boolean>;
    equal(dom.state, "done", String(dom.error));
    equal(dom.status, "COMPLETED");
    equal(dom.count, String(featureCount));
    equal(dom.legend, String(featureCount), "every feature drawn");
    ok(dom.canvas, "a map canvas");
    ok(!String(dom.href).includes("access_token"), "the token leaves the address bar");

    const png = await page.screenshot({ type: "png" });
    if (SCREENSHOT) await Deno.writeFile(SCREENSHOT, png);
    const { width, data } = PNG.sync.read(Buffer.from(png));
    let sum = 0, sumSq = 0, n = 0;
    for (let y = MAP_AREA.y; y < MAP_AREA.y + MAP_AREA.height; y++) {
      for (let x = MAP_AREA.x; x < MAP_AREA.x + MAP_AREA.width; x++) {
        const i = 4 * (y * width + x);
        const luminance = 0.2126 * data[i]! + 0.7152 * data[i + 1]! + 0.0722 * data[i + 2]!;
        sum += luminance;
        sumSq += luminance * luminance;
        n++;
      }
    }
    const stddev = Math.sqrt(sumSq / n - (sum / n) ** 2);
    ok(stddev > MIN_STDDEV, `map area luminance stddev ${stddev.toFixed(1)} > ${MIN_STDDEV}`);

    // The job list's markup links to the page without the token; following the link carries it.
    await page.goto(`${service.url}/jobs?f=html&access_token=${jwt}`);
    ok(!(await page.content()).includes(jwt), "the token is not in the job list's markup");
    await Promise.all([page.waitForNavigation(), page.click(`a[href="/jobs/${jobID}?f=html"]`)]);
    await page.waitForSelector("#job[data-state=done]", { timeout: 180_000 });

    const origin = new URL(service.url).origin;
    const elsewhere = requested.filter((url) => /^(https?|wss?):/.test(url) && new URL(url).origin !== origin);
    equal(elsewhere.length, 0, `requests to other hosts: ${elsewhere.join(", ")}`);
    ok(requested.some((url) => url.endsWith("/static/basemap/countries.geojson")), "the outlines came from /static");
  } finally {
    await browser.close();
    await service.stop();
  }
});
