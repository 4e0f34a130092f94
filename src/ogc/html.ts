/**
 * The OGC API's HTML representations (the `html` conformance class): landing page, process list and description,
 * job list, and a job page that follows the job live and draws its result on a map. Everything the pages load is
 * served by this Worker (/static/: MapLibre GL JS, FlatGeobuf, country and state outlines; scripts/build_static.ts),
 * so they work offline. A page never writes the caller's token into a link: the page script reads
 * `?access_token=` once, drops it from the address bar and adds it to requests and to authenticated navigations.
 */
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { JobStatusDocument } from "../../shared/contract/status.ts";
import type { OgcLink, OgcProcess, OgcProcessSummary, OgcStatusInfo } from "../../shared/contract/ogc.ts";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2733}
header{background:#1d3557;color:#fff;padding:.6rem 1rem}header a{color:#fff}
main{padding:1rem;max-width:70rem}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
code{background:#f2f4f7;padding:0 .2rem}#map{position:absolute;top:0;bottom:0;left:0;right:0}
.panel code{word-break:break-all}.job{display:grid;grid-template-columns:22rem 1fr;height:calc(100vh - 2.6rem)}.panel{padding:1rem;overflow:auto}
.mapwrap{position:relative}.legend{position:absolute;right:.6rem;bottom:.6rem;background:#fffe;padding:.4rem .6rem;border-radius:4px;font-size:13px}
.swatch{display:inline-block;width:14px;height:10px;margin-right:.4rem;vertical-align:middle}
`;

/** Re-issues clicks on `a[data-auth]` with the token, which is never part of the page's markup. */
const TOKEN_SCRIPT = `
const KEY = "spatial-jobs-token";
const params = new URLSearchParams(location.search);
if (params.has("access_token")) {
  sessionStorage.setItem(KEY, params.get("access_token"));
  params.delete("access_token");
  history.replaceState(null, "", location.pathname + (params.size ? "?" + params : ""));
}
window.spatialJobsToken = sessionStorage.getItem(KEY);
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[data-auth]");
  if (!link || !window.spatialJobsToken) return;
  event.preventDefault();
  const url = new URL(link.href);
  url.searchParams.set("access_token", window.spatialJobsToken);
  location.assign(url.href);
});
`;

function page(title: string, body: Html, head: Html = html``): Html {
  return html`
    <!doctype html>
    <html lang="en">
      <head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
    <title>${title} · spatial-jobs</title><style>${raw(STYLE)}</style>${head}
    <script>${raw(TOKEN_SCRIPT)}</script></head>
      <body><header><a href="/?f=html">spatial-jobs</a> · <a href="/processes?f=html">Processes</a> ·
    <a href="/jobs?f=html" data-auth>Jobs</a> · <a href="/openapi.json">API</a></header>${body}</body>
    </html>
  `;
}

export function landingPage(title: string, description: string, links: OgcLink[]): Html {
  return page(
    title,
    html`
      <main>
        <h1>${title}</h1>
        <p>${description}</p>
        <ul>${links.map((l) =>
          html`<li><a href="${l.href}">${l.title ?? l.rel}</a> <small>${l.type ?? ""}</small></li>`
        )}</ul>
      </main>
    `,
  );
}

export function conformancePage(classes: readonly string[]): Html {
  return page(
    "Conformance",
    html`
      <main>
        <h1>Conformance</h1>
        <ul>${classes.map((c) => html`<li>${c}</li>`)}</ul>
      </main>
    `,
  );
}

export function processListPage(processes: OgcProcessSummary[]): Html {
  return page(
    "Processes",
    html`
      <main>
        <h1>Processes</h1>
        <table><tr><th>Process</th><th>Description</th><th>Job control</th></tr>${processes.map((p) =>
          html`
            <tr>
              <td><a href="/processes/${p.id}?f=html">${p.title}</a><br><code>${p.id}</code></td>
              <td>${p.description}</td>
              <td>${p.jobControlOptions.join(", ")}</td>
            </tr>
          `
        )}</table>
      </main>
    `,
  );
}

export function processPage(process: OgcProcess): Html {
  return page(
    process.title,
    html`
      <main>
        <h1>${process.title} <small><code>${process.id}</code></small></h1>
        <p>${process.description}</p>
        <p>Execute: <code>POST /processes/${process.id}/execution</code> with <code>Prefer: respond-async</code>.</p>
        <h2>Inputs</h2>
        <table><tr><th>Input</th><th>Occurs</th><th>Schema</th></tr>${Object.entries(process.inputs).map((
          [name, input],
        ) =>
          html`
            <tr>
              <td><code>${name}</code>${input.description ? html`<br><small>${input.description}</small>` : ""}</td>
              <td>${input.minOccurs}..${input.maxOccurs}</td>
              <td><code>${JSON.stringify(input.schema).slice(0, 160)}</code></td>
            </tr>
          `
        )}</table>
        <h2>Outputs</h2>
        <ul>${Object.entries(process.outputs).map(([name, output]) =>
          html`<li><code>${name}</code>: ${output.description}</li>`
        )}</ul>
      </main>
    `,
  );
}

export function jobListPage(jobs: OgcStatusInfo[], next: string | undefined): Html {
  return page(
    "Jobs",
    html`<main><h1>Your jobs</h1><table><tr><th>Job</th><th>Process</th><th>Status</th><th>Created</th></tr>${
      jobs.map((j) =>
        html`
          <tr>
            <td><a href="/jobs/${j.jobID}?f=html" data-auth><code>${j.jobID}</code></a></td>
            <td>${j.processID ?? ""}</td>
            <td>${j.status}</td>
            <td>${j.created ?? ""}</td>
          </tr>
        `
      )
    }</table>${next ? html`<p><a href="${next}" data-auth>Next page</a></p>` : ""}</main>`,
  );
}

/** The job page: the status panel starts from `job` and follows `/v1/jobs/{id}`; the map draws the result. */
export function jobPage(job: JobStatusDocument, processId: string | undefined): Html {
  const head = html`<link rel="stylesheet" href="/static/maplibre-gl.css">
<script src="/static/flatgeobuf-geojson.min.js"></script>
<script type="module" src="/static/job_page.js"></script>`;
  return page(
    `Job ${job.job_id}`,
    html`
      <div class="job" id="job" data-job="${job.job_id}" data-state="loading">
        <section class="panel">
          <h1>Job</h1>
          <p><code>${job.job_id}</code></p>
          <table>
            <tr>
              <th>Process</th>
              <td>${processId ?? ""}</td>
            </tr>
            <tr>
              <th>Status</th>
              <td id="status">${job.status}</td>
            </tr>
            <tr>
              <th>Progress</th>
              <td id="progress">${job.progress.partitions_done} / ${job.progress.partitions_total} partitions</td>
            </tr>
            <tr>
              <th>Features</th>
              <td id="feature-count">${job.result ? String(job.result.feature_count) : "–"}</td>
            </tr>
            <tr>
              <th>Drawn</th>
              <td id="drawn">–</td>
            </tr>
          </table>
          <h2>Stats</h2>
          <pre id="stats">${job.stats ? JSON.stringify(job.stats, null, 1) : ""}</pre>
          <p id="error">${job.error?.detail ?? ""}</p>
        </section>
        <section class="mapwrap">
          <div id="map"></div>
          <div class="legend" id="legend">
            <div><span class="swatch" style="background:#e63946aa;border:1px solid #9d0208"></span>Result (<span id="legend-count">0</span> features)</div>
            <div><span class="swatch" style="border-top:2px solid #7a8ca3"></span>Countries</div>
            <div><span class="swatch" style="border-top:1px dashed #a5b4c7"></span>US states</div>
          </div>
        </section>
      </div>
    `,
    head,
  );
}
