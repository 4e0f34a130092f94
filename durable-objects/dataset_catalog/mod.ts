/**
 * One instance per dataset name: its owner domain and its versions. Tiles are
 * written to R2 under a fresh prefix before `publish`, which makes the new
 * version current in one storage transaction; earlier versions stay readable
 * so jobs pinned to them keep their answers.
 */
import { DurableObject } from "cloudflare:workers";
import type {
  DatasetManifest,
  DatasetVersionEntry,
  ManifestDraft,
  PublishOutcome,
} from "../../shared/dataset_manifest.ts";
import {
  type AbortOutcome,
  type CompleteOutcome,
  type OpenUploadInput,
  type OpenUploadOutcome,
  type PutPartOutcome,
  type UploadPart,
  type UploadRecord,
  Uploads,
} from "./uploads.ts";
import { type DeleteVersionOutcome, type Pin, Versions } from "./versions.ts";
import { directoryStub } from "../../shared/routing/partitions.ts";

export class DatasetCatalog extends DurableObject<Env> {
  /**
   * The schema is created by the first publish, not in the constructor: looking
   * up a dataset that was never published (a 422/404 at the edge) must write nothing.
   */
  #hasSchema(): boolean {
    return this.ctx.storage.sql.exec(
      `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'versions'`,
    ).toArray().length > 0;
  }

  /**
   * The current manifest, or null if never published: what every submit against the dataset pins. Kept
   * parsed in memory (a hot dataset's object answers every submit) and reloaded after a publish.
   */
  current(): DatasetManifest | null {
    if (this.#current !== undefined) return this.#current;
    const row = this.#hasSchema()
      ? this.ctx.storage.sql.exec<{ manifest: string }>(`SELECT manifest FROM versions ORDER BY version DESC LIMIT 1`)
        .toArray()[0]
      : undefined;
    return this.#current = row ? JSON.parse(row.manifest) as DatasetManifest : null;
  }
  /** undefined: not loaded yet (or a publish changed it). */
  #current: DatasetManifest | null | undefined;

  /**
   * The current version's number, and its manifest unless it is `known` (the caller holds that version's
   * manifest already: a version never changes). Null if never published. A submit asks this every time,
   * since the current version is what a publish changes, but a hot dataset's tile map crosses only once.
   */
  currentUnless(known: number | null): { version: number; manifest: DatasetManifest | null } | null {
    const manifest = this.current();
    if (!manifest) return null;
    return { version: manifest.version, manifest: manifest.version === known ? null : manifest };
  }

  /** The current manifest and the list of published versions, or null if never published. */
  describe(): { manifest: DatasetManifest; versions: DatasetVersionEntry[] } | null {
    const manifest = this.current();
    if (!manifest) return null;
    const versions = this.ctx.storage.sql.exec<DatasetVersionEntry>(
      `SELECT json_extract(manifest, '$.version') AS version, json_extract(manifest, '$.created_at') AS created_at,
              json_extract(manifest, '$.feature_count') AS feature_count, json_extract(manifest, '$.etag') AS etag
       FROM versions ORDER BY version`,
    ).toArray();
    return { manifest, versions };
  }

  /** Makes `draft` the next version, unless the dataset belongs to another domain. */
  async publish(draft: ManifestDraft): Promise<PublishOutcome> {
    await this.#listName(draft.name);
    return this.ctx.storage.transactionSync(() => this.#publishInTransaction(draft));
  }

  /** Puts the dataset's name on the directory (GET /v1/datasets) before it first gets a version or an upload. */
  async #listName(name: string): Promise<void> {
    if (this.#listed) return;
    await directoryStub(this.env).register(name);
    this.#listed = true;
  }
  #listed = false;

  /** Versions and pins; the tables are created with the catalog's first publish. */
  #versions(): Versions {
    return this.#versionStore ??= new Versions(this.ctx.storage.sql);
  }
  #versionStore: Versions | undefined;

  /** Records that job `jobId` reads `version` (at submit); false when that version is gone. */
  pin(version: number, jobId: string): boolean {
    return this.#hasSchema() && this.#versions().pin(version, jobId, Date.now());
  }

  /** The jobs that pinned `version`, or null when there is no such version. */
  pins(version: number): Pin[] | null {
    return this.#hasSchema() ? this.#versions().pins(version) : null;
  }

  /** Deletes `version` if its pins are still `checked`, none of which the caller found live (versions.ts). */
  deleteVersion(version: number, checked: string[], domain: string, actor: string): DeleteVersionOutcome {
    if (!this.#hasSchema()) return { ok: false, code: "NOT_FOUND" };
    const outcome = this.ctx.storage.transactionSync(() =>
      this.#versions().delete(version, checked, domain, actor, Date.now())
    );
    if (outcome.ok) this.#current = undefined;
    return outcome;
  }

  /** The body of {@link publish}; the caller holds a `transactionSync`. */
  #publishInTransaction(draft: ManifestDraft): PublishOutcome {
    {
      this.ctx.storage.sql.exec(
        `CREATE TABLE IF NOT EXISTS versions (version INTEGER PRIMARY KEY, manifest TEXT NOT NULL)`,
      );
      const current = this.current();
      if (current && current.owner_domain !== draft.owner_domain) {
        return { ok: false as const, code: "FOREIGN_DOMAIN" as const, owner_domain: current.owner_domain };
      }
      const version = this.#versions().nextVersion();
      const manifest: DatasetManifest = {
        ...draft,
        version,
        created_at: new Date().toISOString(),
        etag: `"v${version}-${draft.content_hash.slice(0, 16)}"`,
      };
      this.ctx.storage.sql.exec(
        `INSERT INTO versions (version, manifest) VALUES (?, ?)`,
        version,
        JSON.stringify(manifest),
      );
      // Dropped, not set: the transaction may still roll back; the next read sees what was committed.
      this.#current = undefined;
      return { ok: true as const, manifest };
    }
  }

  /**
   * Whether R2 objects under `prefix` (`datasets/<name>/<uuid>/`) belong to a version of this dataset or to
   * one of its uploads: every version is kept, since any job may have pinned it (the input collector's rule).
   */
  holdsPrefix(prefix: string): boolean {
    if (!this.#hasSchema()) return false;
    const sql = this.ctx.storage.sql;
    const versioned = sql.exec(
      `SELECT 1 FROM versions
       WHERE substr(coalesce(json_extract(manifest, '$.tiles[0].key'), json_extract(manifest, '$.key')), 1, ?) = ?`,
      prefix.length,
      prefix,
    ).toArray().length > 0;
    const uploads = sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uploads'`).toArray();
    return versioned ||
      (uploads.length > 0 &&
        sql.exec(`SELECT 1 FROM uploads WHERE json_extract(record, '$.prefix') = ?`, prefix).toArray().length > 0);
  }

  // ------------------------------------------------------------ multipart uploads

  #uploads(): Uploads {
    return this.#uploadsStore ??= new Uploads(this.ctx, (draft) => this.#publishInTransaction(draft), this.env);
  }
  #uploadsStore: Uploads | undefined;

  /** Opens a multipart upload (403-equivalent result when the dataset belongs to another domain). */
  async openUpload(input: OpenUploadInput): Promise<OpenUploadOutcome> {
    await this.#listName(input.name);
    const outcome = await this.#uploads().open(input, () => this.describe()?.manifest.owner_domain);
    if (outcome.ok) await this.#armForExpiry();
    return outcome;
  }

  /** The upload's record, or null (unknown id, or nothing ever written: no schema is created). */
  getUpload(uploadId: string): UploadRecord | null {
    return this.#uploads().get(uploadId);
  }

  /** Records (or replaces) part `n`'s summary and ids; the part's tiles are already in R2. */
  putUploadPart(uploadId: string, part: UploadPart, ids: string[]): PutPartOutcome {
    return this.#uploads().putPart(uploadId, part, ids);
  }

  /** Checks ids across parts and starts the merge in the alarm (idempotent). */
  async completeUpload(uploadId: string): Promise<CompleteOutcome> {
    const outcome = this.#uploads().complete(uploadId);
    if (outcome.ok && outcome.upload.state === "COMPLETING") await this.ctx.storage.setAlarm(Date.now());
    return outcome;
  }

  /** Aborts an open (or failed) upload; returns the part tile keys to delete. */
  abortUpload(uploadId: string): AbortOutcome {
    return this.#uploads().abort(uploadId);
  }

  /**
   * Collects uploads abandoned past their expiry, merges the part tiles of COMPLETING uploads and publishes their
   * versions, then wakes again at the next expiry.
   */
  override async alarm(info?: { retryCount: number }): Promise<void> {
    await this.#uploads().collectExpired(Date.now());
    await this.#uploads().runMerges(info?.retryCount ?? 0);
    await this.#armForExpiry();
  }

  /** Sets the alarm for the earliest upload expiry, unless it is due sooner already. */
  async #armForExpiry(): Promise<void> {
    const due = this.#uploads().nextExpiry();
    if (due === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }
}
