/**
 * The job service behind src/routes/jobs_app.ts: plan at the edge (pinned dataset versions, partitions, home
 * cell), claim the idempotency key, then hand the job to its home partition.
 * No geometry is computed here beyond validating a payload.
 */
import { latLngToCell } from "h3-js";
import { wrapTime } from "hono/timing";
import {
  type AttributeColumn,
  attributesOf,
  type PropertiesSelection,
  selectAttributes,
} from "../../shared/attributes.ts";
import {
  datasetKind,
  type DatasetManifest,
  isRasterManifest,
  type VectorDatasetManifest,
} from "../../shared/dataset_manifest.ts";
import { type JobSpec, pinnedDatasetSide, type TileRef } from "../../shared/job_spec.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import { type JobRecord, type JobResult, queuedJob } from "../../shared/job_record.ts";
import { statusDocument } from "../../shared/status_document.ts";
import { assertCallbackDestination } from "../../shared/destination_policy.ts";
import type { AppContext } from "./openapi.ts";
import type { JobService, SubmittedJob } from "./jobs_app.ts";
import type { CommittedResult } from "../results/response.ts";
import { SIGNED_LINK_TTL_S, signResultLink, verifyResultLink } from "../results/signed_link.ts";
import { assertCanRead, type Claims, OPERATOR_ROLE } from "../auth/mod.ts";
import { authorizeJobSpec, authorizeReads, claimsSummary } from "../../shared/auth/job_policy.ts";
import { toFlatFeatures } from "../../shared/contract/mod.ts";
import { DEFAULT_CRS, type SupportedCrs } from "../../shared/contract/crs.ts";
import type { JobRequest } from "../../operations/request.ts";
import { operationOf } from "../../operations/mod.ts";
import type { ResolvedLeft } from "../../operations/operation.ts";
import { describeFeatures, uploadTiles, validateGeometries } from "../datasets/publish.ts";
import { getLogger } from "../../shared/telemetry/log.ts";
import { ConflictError, ForbiddenError, NotFoundError, ProblemError, ValidationError } from "../../shared/problem.ts";
import { listOwnJobs } from "../jobs/list.ts";
import { requestHash } from "../../shared/request_hash.ts";
import { homeCellOf, newJobId } from "../routing/job_id.ts";
import { idempotencyStub, partitionStub } from "../../shared/routing/partitions.ts";
import { currentManifest } from "../datasets/manifest_cache.ts";
import { fromBase64, toBase64 } from "../../shared/base64.ts";
import { config } from "../../shared/config.ts";
import { buildTiles } from "../../shared/tiles/tiling.ts";
import { payloadPrefix } from "../../shared/r2_keys.ts";

type Ctx = AppContext;

interface ResolvedSide extends ResolvedLeft {
  /** A dataset side's kind (a payload is features). */
  kind?: string;
  /** Payload tiles to write once the key is claimed. */
  uploads?: ReturnType<typeof buildTiles>;
}

export const jobService: JobService = {
  async submitJob(c, request, claims) {
    const env = c.env;
    if (request.callback_url) assertCallbackDestination(request.callback_url, env);
    const logger = getLogger(c);
    const operation = operationOf(request.spatial_operation)!;
    // Durable Object round 1: every dataset the job reads (the caller's rate limit is taken with the claim).
    const fields = ["dataset", ...(request.left_dataset ? ["left_dataset"] : []), ...(operation.pins ?? [])];
    const named = fields.flatMap((field) => {
      const name = (request as Record<string, unknown>)[field];
      return typeof name === "string" ? [{ field, name }] : [];
    });
    const manifests = await Promise.all(
      named.map(({ field, name }) => wrapTime(c, catalogStage(field), currentManifest(env, name), "DO round 1")),
    );
    const byField = new Map(
      named.map(({ field, name }, i) => [field, readable(c, manifests[i]!, name, field, claims)]),
    );
    const right = byField.get("dataset")!;
    if (datasetKind(right) !== operation.datasetKind) {
      throw new ValidationError(`Dataset "${right.name}" is a ${datasetKind(right)} dataset.`, [
        { path: "dataset", message: `${operation.name} needs a ${operation.datasetKind} dataset` },
      ]);
    }
    const resolution = "resolution" in right ? right.resolution : config(env).PARTITION_RESOLUTION;
    const requestFingerprint = await requestHash(request);
    const left = request.left_dataset
      ? datasetSide(vectorSide(byField.get("left_dataset")!, "left_dataset"), resolution)
      : await wrapTime(
        c,
        "payload",
        payloadSide(
          request,
          resolution,
          payloadPrefix(await requestHash([claims.sub, requestFingerprint])),
          config(env).INLINE_PAYLOAD_BYTES,
        ),
      );

    const pinned: Record<string, DatasetManifest> = {};
    for (const field of operation.pins ?? []) {
      const manifest = byField.get(field);
      if (manifest) pinned[field] = manifest;
    }
    const leftField = request.left_dataset ? "left_dataset" : "geometry_payload";
    const typeErrors = operation.checkInputs(left, right, leftField);
    if (typeErrors.length) throw new ValidationError("The two sides do not fit the operation.", typeErrors);
    const properties = selectedProperties(request, left, right, leftField);

    const filter = request.bbox ?? null;
    const plan = operation.plan({
      request,
      left,
      dataset: right,
      filter,
      groupBytes: config(env).PARTITION_GROUP_BYTES,
      pinned,
    });
    const { partitions, members } = plan;
    const reads = {
      owner_sub: claims.sub,
      operation: request.spatial_operation,
      ...plan.params,
      bbox: filter,
      left: left.side,
      right: plan.right,
    } satisfies Partial<JobSpec>;
    // The same policy the partition re-checks before it reads anything (shared/auth/job_policy.ts).
    const decision = authorizeJobSpec(reads, claimsSummary(claims));
    logger[decision.ok ? "debug" : "warn"]("abac decision", {
      rule: decision.ok ? "job" : decision.rule,
      decision: decision.ok ? "allow" : "deny",
      ...(decision.ok ? {} : { reason: decision.reason }),
    });
    if (!decision.ok) {
      const outside = decision.rule === "area_in_scope";
      throw new ForbiddenError(
        `${sentence(decision.reason)}.`,
        outside
          ? [{ path: "bbox", message: "the job's window reaches outside the caller's spatial_scope" }]
          : undefined,
      );
    }
    const homeCell = partitions[0] ?? fallbackHome(decision.window?.[0] ?? right.bbox, resolution);

    const planned: JobSpec = {
      ...reads,
      job_id: newJobId(homeCell),
      home_cell: homeCell,
      resolution,
      request_hash: requestFingerprint,
      output_format: request.output_format,
      ...(request.output_crs !== DEFAULT_CRS ? { output_crs: request.output_crs as SupportedCrs } : {}),
      partitions,
      members,
      slo_deadline_ms: request.slo_deadline_ms,
      ...(request.fallback === "none" ? { fallback: "none" as const } : {}),
      callback_url: request.callback_url ?? null,
      max_retries: config(env).MAX_RETRIES,
      trace_id: c.get("traceId"),
      parent_span_id: c.get("spanId"),
      claims: claimsSummary(claims),
      created_at: Date.now(),
      ...(properties.length ? { properties } : {}),
    };
    // What the job's records keep: the tiles its partitions read (the policy above judged the whole plan).
    const draft = operation.specForJob?.(planned) ?? planned;
    // Payload tiles the job's records no longer name (no partition reads them) are not written either.
    const kept = left.uploads?.filter((tile) => tile.entry.cell in draft.left.tiles);
    const uploads = kept?.length ? kept : undefined;

    // Round 2: the caller's rate-limit token, the key, and with it the job, queued for its home in the same commit
    // (the registry sends it on once committed: durable-objects/idempotency_registry/handoff.ts). Nothing was
    // written before it; a refused request (429, 4xx above, 409 here) writes nothing.
    const registry = idempotencyStub(env, claims.sub);
    const admission = c.get("admission");
    const claim = await wrapTime(
      c,
      "claim",
      registry.claim(request.job_idempotency_key, draft, uploads !== undefined, admission?.limit ?? null),
      "DO round 2",
    );
    if (claim.outcome === "throttled") throw admission!.refused(claim.retry_after_s);
    admission?.admitted();
    if (claim.outcome === "conflict") throw ConflictError.idempotencyKeyReuse(request.job_idempotency_key);
    const spec = claim.outcome === "claimed" ? draft : claim.spec;
    if (claim.outcome === "existing" && !claim.pending) return await recordedReplay(c, spec, uploads);
    if (uploads) {
      // Held in the outbox until its tiles are written (a replay writes them again: the same keys, the same bytes).
      // Each payload tile names its job: the collector keeps it while the job may still read it (collect_inputs.ts).
      await wrapTime(c, "upload", uploadTiles(env.TILES, uploads, { job_id: spec.job_id }));
      // Off the critical path: a lost release is found by the registry's alarm, which checks the tiles in R2.
      c.executionCtx.waitUntil(registry.release(spec.job_id));
    }
    // 202 for the submit that claimed the key; 200 for every replay.
    const created = claim.outcome === "claimed";
    // On the request's span line (its access log), not a line of its own.
    c.get("span").setAttribute("job_id", spec.job_id);
    c.get("span").setAttribute("created", created);
    c.get("span").setAttribute("partitions", spec.partitions.length);
    return { job_id: spec.job_id, status: "QUEUED", created } satisfies SubmittedJob;
  },

  async listOwnJobs(c, query, claims) {
    const page = await listOwnJobs(c.env, claims.sub, query);
    return { ...page, jobs: page.jobs.map((job) => statusDocument(job)) };
  },

  async getJob(c, jobId, claims) {
    const job = await ownJob(c, jobId, claims);
    const doc = statusDocument(job);
    // A signed link is offered to a caller who may read the result (seeing a job is not reading its data).
    if (doc.result && job.result && authorizeReads(job.spec, claimsSummary(claims)).ok) {
      const href = await signedResultHref(c, job.job_id, job.result.etag, claims.exp);
      if (href) doc.result.signed_href = href;
    }
    return doc;
  },

  async getResult(c, jobId, access): Promise<CommittedResult> {
    const job = "claims" in access
      ? await readableJob(c, jobId, access.claims)
      : await linkedJob(c, jobId, access.link);
    if (!job.result) throw ConflictError.resultNotReady(jobId, job.status);
    const { key, inline } = job.result;
    if (inline) {
      // Kept in the job's record (at most `INLINE_RESULT_BYTES`): served from those bytes.
      const bytes = fromBase64(inline);
      return committedResult(jobId, job.result, bytes.length, (range) => {
        const part = range ? bytes.subarray(range.offset, range.offset + range.length) : bytes;
        return Promise.resolve(new Blob([part]).stream());
      });
    }
    const stored = await c.env.TILES.head(key);
    if (!stored) {
      // Reconciliation: the home partition re-materializes it from the staged parts.
      await partitionStub(c.env, homeCellOf(jobId)!).reconcile(jobId);
      getLogger(c).warn("committed result missing; reconciliation scheduled", { job_id: jobId });
      throw resultUnavailable(jobId);
    }
    return committedResult(jobId, job.result, stored.size, async (range) => {
      const object = await c.env.TILES.get(key, range ? { range } : {});
      if (!object) throw resultUnavailable(jobId);
      return object.body;
    });
  },

  async cancelJob(c, jobId, claims) {
    const job = await ownJob(c, jobId, claims);
    // Still in the outbox: its home must record it before it can cancel it.
    if (job.status === "QUEUED") await idempotencyStub(c.env, job.spec.owner_sub).handOver(jobId);
    const outcome = await partitionStub(c.env, homeCellOf(jobId)!).cancel(jobId, `user:${claims.sub}`);
    if (!outcome.ok) throw new NotFoundError(`No job "${jobId}".`);
    return statusDocument(outcome.job);
  },
};

/** The answer's view of a committed result whose stored bytes (`storedBytes` of them) `read` returns. */
function committedResult(
  jobId: string,
  result: JobResult,
  storedBytes: number,
  read: CommittedResult["read"],
): CommittedResult {
  const { format, etag, bytes, encoding } = result;
  return encoding
    ? { jobId, format, etag, bytes, encoding, storedBytes, read }
    : { jobId, format, etag, bytes: storedBytes, read };
}

/**
 * A replay of a job its registry handed over: the home's record (a third round, replays only). A claim the home
 * never recorded (its held payload never reached R2: the first submit died before it answered) is recorded here.
 */
async function recordedReplay(
  c: Ctx,
  spec: JobSpec,
  uploads: ResolvedSide["uploads"],
): Promise<SubmittedJob> {
  const home = partitionStub(c.env, spec.home_cell);
  const job = await wrapTime(c, "home_job", home.job(spec.job_id), "DO round 3");
  if (job) return { job_id: job.job_id, status: job.status, created: false };
  if (uploads) await wrapTime(c, "upload", uploadTiles(c.env.TILES, uploads, { job_id: spec.job_id }));
  const outcome = (await wrapTime(c, "home", home.submit([spec]), "DO round 4"))[0]!;
  if (!outcome.ok) throw new ForbiddenError(outcome.reason);
  return { job_id: outcome.job.job_id, status: outcome.job.status, created: false };
}

/**
 * The job, if it exists and the caller may see it (its owner, or an operator); else 404 either way. A job its
 * home has not recorded yet is read from the caller's registry (only its owner sees it there).
 */
async function ownJob(c: Ctx, jobId: string, claims: Claims): Promise<JobRecord> {
  const cell = homeCellOf(jobId);
  const home = cell ? partitionStub(c.env, cell) : null;
  let job = home ? await home.job(jobId) : null;
  if (home && !job) {
    const pending = await idempotencyStub(c.env, claims.sub).pending(jobId);
    // Handed over between the two reads: the home has it now.
    job = pending ? queuedJob(pending) : await home.job(jobId);
  }
  const operator = claims.roles?.includes(OPERATOR_ROLE) ?? false;
  if (!job || (job.spec.owner_sub !== claims.sub && !operator)) throw new NotFoundError(`No job "${jobId}".`);
  return job;
}

/** The caller's job, if the caller may also read what it read (its result holds those features). */
async function readableJob(c: Ctx, jobId: string, claims: Claims): Promise<JobRecord> {
  const job = await ownJob(c, jobId, claims);
  const decision = authorizeReads(job.spec, claimsSummary(claims));
  if (!decision.ok) {
    getLogger(c).warn("abac decision", { rule: decision.rule, decision: "deny", reason: decision.reason });
    throw new ForbiddenError(`${sentence(decision.reason)}.`);
  }
  return job;
}

/** The job a signed link names, if the link is valid for its current result; 403 alike for every refusal. */
async function linkedJob(c: Ctx, jobId: string, link: { expires?: string; signature: string }): Promise<JobRecord> {
  const secret = config(c.env).RESULT_LINK_KEY;
  if (!secret) throw new ForbiddenError("Signed result links are not configured on this service (RESULT_LINK_KEY).");
  const cell = homeCellOf(jobId);
  const job = cell ? await partitionStub(c.env, cell).job(jobId) : null;
  const verdict = job?.result
    ? await verifyResultLink(secret, jobId, job.result.etag, link)
    : { ok: false as const, reason: "The link names no committed result." };
  if (!verdict.ok) {
    getLogger(c).warn("signed link refused", { job_id: jobId, reason: verdict.reason });
    throw new ForbiddenError(verdict.reason);
  }
  return job!;
}

/** An absolute signed link to the result, valid for an hour or until the caller's token expires if sooner. */
async function signedResultHref(c: Ctx, jobId: string, etag: string, tokenExp: number): Promise<string | null> {
  const secret = config(c.env).RESULT_LINK_KEY;
  if (!secret) return null;
  const expires = Math.min(Math.floor(Date.now() / 1000) + SIGNED_LINK_TTL_S, tokenExp);
  const path = `/v1/jobs/${encodeURIComponent(jobId)}/result?${await signResultLink(secret, jobId, etag, expires)}`;
  return new URL(path, c.req.url).href;
}

function resultUnavailable(jobId: string): ProblemError {
  return new ProblemError(503, `The result of job "${jobId}" is being restored; retry shortly.`, {
    type: "result-unavailable",
    headers: { "Retry-After": "5" },
  });
}

/** The Server-Timing name of a dataset field's catalog call. */
function catalogStage(field: string): string {
  return field === "dataset" ? "catalog" : field === "left_dataset" ? "catalog_left" : `catalog_${field}`;
}

/** The dataset's current manifest (the version the job pins), if it is published and the caller may read it. */
function readable(
  c: Ctx,
  manifest: DatasetManifest | null,
  name: string,
  field: string,
  claims: Claims,
): DatasetManifest {
  if (!manifest) {
    throw new ValidationError(`Dataset "${name}" is not published.`, [{ path: field, message: "unknown dataset" }]);
  }
  assertCanRead(manifest.classification, claims.data_classification, getLogger(c), `dataset "${name}"`);
  return manifest;
}

/** A left dataset must hold features. */
function vectorSide(manifest: DatasetManifest, field: string): VectorDatasetManifest {
  if (datasetKind(manifest) !== "vector") {
    throw new ValidationError(`Dataset "${manifest.name}" is a ${datasetKind(manifest)} dataset.`, [
      { path: field, message: "the left side reads features" },
    ]);
  }
  return manifest as VectorDatasetManifest;
}

function datasetSide(m: VectorDatasetManifest, resolution: number): ResolvedSide {
  if (m.resolution !== resolution) {
    throw new ValidationError(`Datasets "${m.name}" and the right dataset are tiled at different resolutions.`, [
      { path: "left_dataset", message: `resolution ${m.resolution}, right side ${resolution}; republish one of them` },
    ]);
  }
  return {
    side: pinnedDatasetSide(m),
    types: m.geometry_types,
    bbox: m.bbox,
    attributes: m.attributes ?? null,
    kind: datasetKind(m),
  };
}

/**
 * A payload is validated like a dataset and tiled under a key derived from its fingerprint. Tiles of a
 * payload up to `inlineBytes` in all travel inside the job spec instead: no R2 write on the submit path.
 */
async function payloadSide(
  request: JobRequest,
  resolution: number,
  prefix: string,
  inlineBytes: number,
): Promise<ResolvedSide> {
  const flat = toFlatFeatures(request.geometry_payload!, request.input_crs);
  const { features } = await validateGeometries(flat, request.repair ?? false, "geometry_payload.features");
  const { geometry_types, bbox } = describeFeatures(features);
  const built = buildTiles(features, resolution, prefix);
  const inline = built.reduce((sum, t) => sum + t.bytes.length, 0) <= inlineBytes;
  const tiles: Record<string, TileRef> = {};
  for (const { entry, bytes } of built) tiles[entry.cell] = inline ? { ...entry, inline: toBase64(bytes) } : entry;
  return {
    side: { kind: "payload", key: prefix, tiles },
    types: geometry_types,
    bbox,
    attributes: attributesOf(features),
    uploads: inline ? undefined : built,
  };
}

/** The attribute columns a request's `properties` selects; 422 naming each name the sides do not have. */
function selectedProperties(
  request: JobRequest,
  left: ResolvedSide,
  right: DatasetManifest,
  leftField: string,
): AttributeColumn[] {
  const selection = request.properties as PropertiesSelection | undefined;
  if (!selection) return [];
  const { columns, problems } = selectAttributes(
    selection,
    { left: left.attributes ?? null, right: isRasterManifest(right) ? [] : right.attributes ?? null },
    { left: leftField, right: "dataset" },
  );
  if (problems.length) throw new ValidationError("properties names attributes the sides do not have.", problems);
  return columns;
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A job with no partition (nothing can match) still needs a home: the cell of its area's centre. */
function fallbackHome(area: Bbox | null, resolution: number): string {
  const [x, y] = area ? [(area[0] + area[2]) / 2, (area[1] + area[3]) / 2] : [0, 0];
  return latLngToCell(y, x, resolution);
}
