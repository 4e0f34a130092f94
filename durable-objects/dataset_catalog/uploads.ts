/**
 * Multipart uploads of one dataset, kept in its `DatasetCatalog`: the upload
 * (`uploads`), each part's summary (`upload_parts`) and each part's feature ids
 * (`upload_ids`, one row per id, so duplicates across parts are one indexed
 * `GROUP BY` at complete time and memory stays flat at a million ids).
 *
 * Like `versions`, the tables are created by the first write (`open`): reading
 * an unknown upload writes nothing.
 *
 * States: OPEN → (complete) COMPLETING → (alarm: merge + publish) COMPLETED | FAILED;
 * OPEN | FAILED → (abort, or the alarm once past `expires_at`: `UPLOAD_TTL_MS` after opening) ABORTED.
 *
 * A raster upload (`kind: "raster"`) has no tiles or ids: its parts go to one R2 multipart upload
 * (raster_upload.ts), and the alarm's merge is R2's complete plus the header check.
 *
 * @module
 */
import type { Bbox, GeometryKind } from "../../wasm/flat_geometry.ts";
import { mergeUploadTiles } from "./merge_tiles.ts";
import { requestHash } from "../../shared/request_hash.ts";
import { createLogger } from "../../shared/telemetry/log.ts";
import { INTERNAL_ERROR_DETAIL, ValidationError } from "../../shared/problem.ts";
import type { Classification } from "../../shared/contract/common.ts";
import type {
  DatasetManifest,
  ManifestDraft,
  NetworkFacts,
  PublishOutcome,
  TileEntry,
} from "../../shared/dataset_manifest.ts";
import { buildUploadNetwork } from "./build_network.ts";
import { config } from "../../shared/config.ts";
import { datasetVersionPrefix, networkBlocksPrefix, tilesPrefix } from "../../shared/r2_keys.ts";
import {
  completeRasterObject,
  discardRaster,
  isRasterPart,
  openRasterTarget,
  partSizesProblem,
  type RasterPartSummary,
  type RasterUploadTarget,
} from "../../shared/raster/multipart.ts";
import { type Attribute, mergeAttributes } from "../../shared/attributes.ts";

export type UploadState = "OPEN" | "COMPLETING" | "COMPLETED" | "FAILED" | "ABORTED";

/** Ids sent to SQLite in one statement (as one JSON array value, well under the 2 MB value limit). */
const IDS_PER_STATEMENT = 20_000;
/** Duplicate ids listed in a refused complete. */
const MAX_DUPLICATES_LISTED = 100;
/** Alarm retries before a merge is recorded as FAILED. */
const MAX_MERGE_RETRIES = 3;

export interface OpenUploadInput {
  name: string;
  owner_domain: string;
  created_by: string;
  classification: Classification | null;
  repair: boolean;
  crs: string;
  resolution: number;
  /** Absent: a vector (or network) upload. */
  kind?: "raster";
  /** Set for `kind=network`: the parts are staged edges and complete builds the topology. */
  network?: { snap_m: number };
}

/** A part as recorded: its tiles (under the part's staging prefix) and what the manifest needs. */
export interface UploadPartSummary {
  n: number;
  tiles: TileEntry[];
  feature_count: number;
  bbox: Bbox | null;
  geometry_types: GeometryKind[];
  /** Absent on parts stored before attributes were recorded. */
  attributes?: Attribute[];
  repaired_count: number;
  /** A network part's staged edges (shared/network/staged_edges.ts); its `tiles` are empty. */
  edges_key?: string;
}

export type UploadPart = UploadPartSummary | RasterPartSummary;

export interface UploadRecord extends OpenUploadInput {
  upload_id: string;
  /** `datasets/<name>/<upload uuid>/`: parts under `parts/<n>/tiles/`, the merged version under `tiles/`. */
  prefix: string;
  state: UploadState;
  created_at: string;
  expires_at: string;
  parts: UploadPart[];
  /** kind=raster: the object its parts assemble into. */
  raster?: RasterUploadTarget;
  manifest?: DatasetManifest;
  error?: string;
}

export type OpenUploadOutcome =
  | { ok: true; upload: UploadRecord }
  | { ok: false; code: "FOREIGN_DOMAIN"; owner_domain: string };

export type PutPartOutcome =
  | { ok: true; replaced: UploadPart | null }
  | { ok: false; code: "NOT_FOUND" }
  | { ok: false; code: "NOT_OPEN" | "EXPIRED"; state: UploadState };

export type CompleteOutcome =
  | { ok: true; upload: UploadRecord }
  | { ok: false; code: "NOT_FOUND" }
  | { ok: false; code: "NOT_OPEN" | "EXPIRED"; state: UploadState }
  | { ok: false; code: "NO_PARTS" }
  | { ok: false; code: "PART_SIZES"; problem: string }
  | { ok: false; code: "DUPLICATE_IDS"; duplicates: { id: string; parts: number[] }[] };

export type AbortOutcome =
  | { ok: true; upload: UploadRecord; keys: string[] }
  | { ok: false; code: "NOT_FOUND" }
  | { ok: false; code: "COMPLETED" | "COMPLETING"; state: UploadState };

type UploadRow = {
  upload_id: string;
  record: string;
  state: UploadState;
  manifest: string | null;
  error: string | null;
};

export class Uploads {
  readonly #ctx: DurableObjectState;
  readonly #publish: (draft: ManifestDraft) => PublishOutcome;
  readonly #env: Env;

  constructor(
    ctx: DurableObjectState,
    publish: (draft: ManifestDraft) => PublishOutcome,
    env: Env,
  ) {
    this.#ctx = ctx;
    this.#publish = publish;
    this.#env = env;
  }

  get #sql(): SqlStorage {
    return this.#ctx.storage.sql;
  }

  #hasSchema(): boolean {
    return this.#sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uploads'`).toArray().length >
      0;
  }

  #createSchema(): void {
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS versions (version INTEGER PRIMARY KEY, manifest TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS uploads (
        upload_id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('OPEN', 'COMPLETING', 'COMPLETED', 'FAILED', 'ABORTED')),
        manifest TEXT,
        error TEXT
      );
      CREATE TABLE IF NOT EXISTS upload_parts (
        upload_id TEXT NOT NULL,
        n INTEGER NOT NULL,
        summary TEXT NOT NULL,
        PRIMARY KEY (upload_id, n)
      );
      CREATE TABLE IF NOT EXISTS upload_ids (
        upload_id TEXT NOT NULL,
        id TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (upload_id, id, n)
      ) WITHOUT ROWID;
    `);
  }

  /** `currentOwner` is asked again after a raster's R2 upload is created (another publish may have run). */
  async open(input: OpenUploadInput, currentOwner: () => string | undefined): Promise<OpenUploadOutcome> {
    const foreign = (): OpenUploadOutcome | null => {
      const owner = currentOwner();
      return owner !== undefined && owner !== input.owner_domain
        ? { ok: false, code: "FOREIGN_DOMAIN", owner_domain: owner }
        : null;
    };
    const refused = foreign();
    if (refused) return refused;
    const uuid = crypto.randomUUID();
    const now = Date.now();
    const prefix = datasetVersionPrefix(input.name, uuid);
    const raster = input.kind === "raster" ? await openRasterTarget(this.#env.TILES, prefix) : undefined;
    const late = foreign();
    if (late) {
      if (raster) await discardRaster(this.#env.TILES, raster);
      return late;
    }
    const upload: UploadRecord = {
      ...input,
      upload_id: `upl_${uuid.replaceAll("-", "")}`,
      prefix,
      state: "OPEN",
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + config(this.#env).UPLOAD_TTL_MS).toISOString(),
      parts: [],
      ...(raster ? { raster } : {}),
    };
    this.#ctx.storage.transactionSync(() => {
      this.#createSchema();
      const { parts: _parts, state: _state, ...record } = upload;
      this.#sql.exec(
        `INSERT INTO uploads (upload_id, record, state) VALUES (?, ?, 'OPEN')`,
        upload.upload_id,
        JSON.stringify(record),
      );
    });
    return { ok: true, upload };
  }

  get(uploadId: string): UploadRecord | null {
    if (!this.#hasSchema()) return null;
    const row = this.#sql.exec<UploadRow>(
      `SELECT upload_id, record, state, manifest, error FROM uploads WHERE upload_id = ?`,
      uploadId,
    ).toArray()[0];
    if (!row) return null;
    const parts = this.#sql.exec<{ summary: string }>(
      `SELECT summary FROM upload_parts WHERE upload_id = ? ORDER BY n`,
      uploadId,
    ).toArray().map((r) => JSON.parse(r.summary) as UploadPart);
    const record = JSON.parse(row.record) as Omit<UploadRecord, "state" | "parts">;
    return {
      ...record,
      state: row.state,
      parts,
      ...(row.manifest ? { manifest: JSON.parse(row.manifest) as DatasetManifest } : {}),
      ...(row.error ? { error: row.error } : {}),
    };
  }

  #expired(upload: UploadRecord): boolean {
    return upload.state === "OPEN" && Date.parse(upload.expires_at) <= Date.now();
  }

  putPart(uploadId: string, part: UploadPart, ids: string[]): PutPartOutcome {
    return this.#ctx.storage.transactionSync((): PutPartOutcome => {
      const upload = this.get(uploadId);
      if (!upload) return { ok: false, code: "NOT_FOUND" };
      if (upload.state !== "OPEN") return { ok: false, code: "NOT_OPEN", state: upload.state };
      if (this.#expired(upload)) return { ok: false, code: "EXPIRED", state: upload.state };
      const replaced = upload.parts.find((p) => p.n === part.n) ?? null;
      this.#sql.exec(`DELETE FROM upload_ids WHERE upload_id = ? AND n = ?`, uploadId, part.n);
      for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
        this.#sql.exec(
          `INSERT OR IGNORE INTO upload_ids (upload_id, id, n) SELECT ?, value, ? FROM json_each(?)`,
          uploadId,
          part.n,
          JSON.stringify(ids.slice(i, i + IDS_PER_STATEMENT)),
        );
      }
      this.#sql.exec(
        `INSERT INTO upload_parts (upload_id, n, summary) VALUES (?, ?, ?)
         ON CONFLICT (upload_id, n) DO UPDATE SET summary = excluded.summary`,
        uploadId,
        part.n,
        JSON.stringify(part),
      );
      return { ok: true, replaced };
    });
  }

  complete(uploadId: string): CompleteOutcome {
    return this.#ctx.storage.transactionSync((): CompleteOutcome => {
      const upload = this.get(uploadId);
      if (!upload) return { ok: false, code: "NOT_FOUND" };
      // Completing again is idempotent: the same status (and, once merged, the same manifest).
      if (upload.state === "COMPLETING" || upload.state === "COMPLETED") return { ok: true, upload };
      if (upload.state !== "OPEN") return { ok: false, code: "NOT_OPEN", state: upload.state };
      if (this.#expired(upload)) return { ok: false, code: "EXPIRED", state: upload.state };
      if (upload.parts.length === 0) return { ok: false, code: "NO_PARTS" };
      const sizes = upload.raster ? partSizesProblem(upload.parts.filter(isRasterPart)) : null;
      if (sizes) return { ok: false, code: "PART_SIZES", problem: sizes };
      const duplicates = this.#sql.exec<{ id: string; parts: string }>(
        `SELECT id, group_concat(n) AS parts FROM upload_ids WHERE upload_id = ?
         GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT ?`,
        uploadId,
        MAX_DUPLICATES_LISTED,
      ).toArray().map((r) => ({ id: r.id, parts: r.parts.split(",").map(Number).sort((a, b) => a - b) }));
      if (duplicates.length) return { ok: false, code: "DUPLICATE_IDS", duplicates };
      this.#sql.exec(`UPDATE uploads SET state = 'COMPLETING' WHERE upload_id = ?`, uploadId);
      return { ok: true, upload: { ...upload, state: "COMPLETING" } };
    });
  }

  abort(uploadId: string): AbortOutcome {
    return this.#ctx.storage.transactionSync((): AbortOutcome => {
      const upload = this.get(uploadId);
      if (!upload) return { ok: false, code: "NOT_FOUND" };
      if (upload.state === "COMPLETED" || upload.state === "COMPLETING") {
        return { ok: false, code: upload.state, state: upload.state };
      }
      const keys = upload.parts.flatMap((p) =>
        isRasterPart(p) ? [] : [...p.tiles.map((t) => t.key), ...(p.edges_key ? [p.edges_key] : [])]
      );
      this.#sql.exec(`UPDATE uploads SET state = 'ABORTED' WHERE upload_id = ?`, uploadId);
      this.#sql.exec(`DELETE FROM upload_parts WHERE upload_id = ?`, uploadId);
      this.#sql.exec(`DELETE FROM upload_ids WHERE upload_id = ?`, uploadId);
      return { ok: true, upload: { ...upload, state: "ABORTED", parts: [] }, keys };
    });
  }

  /** The earliest `expires_at` of an upload that would be abandoned then (OPEN or FAILED), in ms; null: none. */
  nextExpiry(): number | null {
    const times = this.#abandonable().map((u) => Date.parse(u.expires_at));
    return times.length ? Math.min(...times) : null;
  }

  #abandonable(): Omit<UploadRecord, "state" | "parts">[] {
    if (!this.#hasSchema()) return [];
    return this.#sql.exec<{ record: string }>(`SELECT record FROM uploads WHERE state IN ('OPEN', 'FAILED')`)
      .toArray().map((r) => JSON.parse(r.record));
  }

  /**
   * The alarm: uploads still OPEN or FAILED at `now` past their `expires_at` are abandoned. Each one's objects
   * (everything under its prefix: no version was published from it) are deleted, then it is recorded ABORTED.
   * A part stored meanwhile is refused as expired and deletes its own tiles (src/datasets/upload.ts).
   */
  async collectExpired(now: number): Promise<string[]> {
    const expired = this.#abandonable().filter((u) => Date.parse(u.expires_at) <= now);
    for (const upload of expired) {
      // A raster's parts wait in an R2 multipart upload, outside the prefix until completed.
      if (upload.raster) await discardRaster(this.#env.TILES, upload.raster);
      await deletePrefix(this.#env.TILES, upload.prefix);
      this.#ctx.storage.transactionSync(() => {
        this.#sql.exec(
          `UPDATE uploads SET state = 'ABORTED', error = ? WHERE upload_id = ? AND state IN ('OPEN', 'FAILED')`,
          `Not completed before it expired at ${upload.expires_at}; its parts were deleted.`,
          upload.upload_id,
        );
        this.#sql.exec(`DELETE FROM upload_parts WHERE upload_id = ?`, upload.upload_id);
        this.#sql.exec(`DELETE FROM upload_ids WHERE upload_id = ?`, upload.upload_id);
      });
      createLogger({ upload_id: upload.upload_id }).info("abandoned upload collected", { dataset: upload.name });
    }
    return expired.map((u) => u.upload_id);
  }

  /**
   * The alarm: every COMPLETING upload's part tiles are merged cell by cell into the version's
   * tiles (one cell in memory at a time), then the version is published and the upload marked
   * COMPLETED in one transaction. Merged tile keys are deterministic, so a retried alarm rewrites
   * the same objects. After {@link MAX_MERGE_RETRIES} failed attempts the upload is FAILED.
   */
  async runMerges(retryCount: number): Promise<void> {
    if (!this.#hasSchema()) return;
    const ids = this.#sql.exec<{ upload_id: string }>(`SELECT upload_id FROM uploads WHERE state = 'COMPLETING'`)
      .toArray().map((r) => r.upload_id);
    for (const uploadId of ids) {
      const upload = this.get(uploadId);
      if (!upload || upload.state !== "COMPLETING") continue;
      try {
        await (upload.raster ? this.#completeRaster(upload, upload.raster) : this.#merge(upload));
      } catch (error) {
        if (error instanceof ValidationError && upload.raster) {
          // Not a GeoTIFF the service can publish: the upload fails with the reason PUT would give, and
          // nothing of it is kept.
          await discardRaster(this.#env.TILES, upload.raster);
          this.#fail(uploadId, error.message);
          continue;
        }
        if (retryCount < MAX_MERGE_RETRIES) throw error;
        if (upload.raster) await discardRaster(this.#env.TILES, upload.raster);
        else await this.#discardBuilt(upload);
        // The upload's status tells its owner it failed, never why inside (the log keeps that).
        createLogger({ upload_id: uploadId }).error("upload merge failed", {
          error_message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
        this.#fail(uploadId, `Merging the parts failed: ${INTERNAL_ERROR_DETAIL}`);
      }
    }
  }

  #fail(uploadId: string, reason: string): void {
    this.#sql.exec(
      `UPDATE uploads SET state = 'FAILED', error = ? WHERE upload_id = ? AND state = 'COMPLETING'`,
      reason,
      uploadId,
    );
  }

  async #completeRaster(upload: UploadRecord, target: RasterUploadTarget): Promise<void> {
    const stored = await completeRasterObject(this.#env.TILES, target, upload.parts.filter(isRasterPart));
    const published = this.#publishUpload(upload, (previous) => ({
      ...stored,
      name: upload.name,
      owner_domain: upload.owner_domain,
      classification: upload.classification ?? previous?.classification ?? "internal",
      published_by: upload.created_by,
    }));
    if (published === "FOREIGN_DOMAIN") await discardRaster(this.#env.TILES, target);
  }

  async #merge(upload: UploadRecord): Promise<void> {
    const parts = upload.parts.filter((p) => !isRasterPart(p)) as UploadPartSummary[];
    const network = upload.network ? await this.#buildNetwork(parts, upload, upload.network.snap_m) : null;
    const tiles = network ? network.tiles : await mergeUploadTiles(this.#env.TILES, upload.prefix, parts);
    const contentHash = await requestHash(tiles);
    const types = new Set<GeometryKind>();
    let bbox: Bbox | null = null;
    let featureCount = 0;
    let repaired = 0;
    for (const part of parts) {
      for (const t of part.geometry_types) types.add(t);
      featureCount += part.feature_count;
      repaired += part.repaired_count;
      if (part.bbox) {
        bbox = bbox
          ? [
            Math.min(bbox[0], part.bbox[0]),
            Math.min(bbox[1], part.bbox[1]),
            Math.max(bbox[2], part.bbox[2]),
            Math.max(bbox[3], part.bbox[3]),
          ]
          : [...part.bbox];
      }
    }
    const published = this.#publishUpload(upload, (previous) => ({
      name: upload.name,
      owner_domain: upload.owner_domain,
      classification: upload.classification ?? previous?.classification ?? "internal",
      feature_count: featureCount,
      bbox,
      geometry_types: [...types].sort(),
      // A part stored before attributes were recorded leaves the version without them (as versions of then).
      ...(parts.every((part) => part.attributes)
        ? { attributes: mergeAttributes(parts.map((part) => part.attributes!)) }
        : {}),
      resolution: upload.resolution,
      repaired_count: repaired,
      tiles,
      content_hash: contentHash,
      published_by: upload.created_by,
      ...network?.facts,
    }));
    if (published === "FOREIGN_DOMAIN") await this.#discardBuilt(upload);
  }

  /**
   * Deletes what a failed merge wrote (a network's blocks, a vector dataset's merged tiles: no version points at
   * them); its staged parts stay until the upload is aborted or expires, as every failed upload's do.
   */
  async #discardBuilt(upload: UploadRecord): Promise<void> {
    await deletePrefix(
      this.#env.TILES,
      upload.network ? networkBlocksPrefix(upload.prefix) : tilesPrefix(upload.prefix),
    );
  }

  /**
   * Publishes the version `draft` describes and marks the upload COMPLETED, in one transaction. Not when the
   * upload is no longer COMPLETING (an earlier run did it), nor when the dataset now belongs to another
   * domain (the upload is FAILED).
   */
  #publishUpload(
    upload: UploadRecord,
    draft: (previous: DatasetManifest | undefined) => ManifestDraft,
  ): "PUBLISHED" | "NOT_COMPLETING" | "FOREIGN_DOMAIN" {
    return this.#ctx.storage.transactionSync(() => {
      const row = this.#sql.exec<{ state: string }>(`SELECT state FROM uploads WHERE upload_id = ?`, upload.upload_id)
        .toArray()[0];
      if (row?.state !== "COMPLETING") return "NOT_COMPLETING";
      const current = this.#sql.exec<{ manifest: string }>(
        `SELECT manifest FROM versions ORDER BY version DESC LIMIT 1`,
      );
      const currentManifest = [...current][0];
      const previous = currentManifest ? JSON.parse(currentManifest.manifest) as DatasetManifest : undefined;
      const outcome = this.#publish(draft(previous));
      if (!outcome.ok) {
        this.#sql.exec(
          `UPDATE uploads SET state = 'FAILED', error = ? WHERE upload_id = ?`,
          `Dataset "${upload.name}" now belongs to domain "${outcome.owner_domain}".`,
          upload.upload_id,
        );
        return "FOREIGN_DOMAIN";
      }
      this.#sql.exec(
        `UPDATE uploads SET state = 'COMPLETED', manifest = ? WHERE upload_id = ?`,
        JSON.stringify(outcome.manifest),
        upload.upload_id,
      );
      // The ids only served the duplicate check.
      this.#sql.exec(`DELETE FROM upload_ids WHERE upload_id = ?`, upload.upload_id);
      return "PUBLISHED";
    });
  }

  async #buildNetwork(
    parts: UploadPartSummary[],
    upload: UploadRecord,
    snapM: number,
  ): Promise<{ tiles: TileEntry[]; facts: NetworkFacts & { kind: "network" } }> {
    const built = await buildUploadNetwork(
      this.#env.TILES,
      upload.prefix,
      parts.map((p) => ({ n: p.n, feature_count: p.feature_count, edges_key: p.edges_key! })),
      {
        snapM,
        baseResolution: upload.resolution,
        maxBlockVertices: config(this.#env).NETWORK_BLOCK_VERTICES,
      },
    );
    return {
      tiles: built.tiles,
      facts: {
        kind: "network",
        vertex_count: built.vertex_count,
        edge_count: built.edge_count,
        component_count: built.component_count,
        snap_m: snapM,
        block_resolution: built.resolution,
        block_shift: built.shift,
      },
    };
  }
}

/** Deletes every object under `prefix`, a listed page (at most 1,000 keys) at a time. */
async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<void> {
  for (;;) {
    const page = await bucket.list({ prefix });
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    if (!page.truncated) return;
  }
}
