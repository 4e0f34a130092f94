/**
 * One instance per dataset name: its owner domain and its versions. Tiles are
 * written to R2 under a fresh prefix before `publish`, which makes the new
 * version current in one storage transaction; earlier versions stay readable
 * so jobs pinned to them keep their answers.
 */
import { DurableObject } from "cloudflare:workers";

export type Classification = "public" | "internal" | "confidential" | "restricted";

export interface TileEntry {
  cell: string;
  key: string;
  feature_count: number;
  bbox: [number, number, number, number];
  bytes: number;
}

export interface DatasetManifest {
  name: string;
  version: number;
  owner_domain: string;
  classification: Classification;
  feature_count: number;
  bbox: [number, number, number, number] | null;
  geometry_types: string[];
  resolution: number;
  repaired_count: number;
  tiles: TileEntry[];
  etag: string;
  published_at: string;
  published_by: string;
}

export type PublishOutcome =
  | { ok: true; manifest: DatasetManifest }
  | { ok: false; code: "FOREIGN_DOMAIN"; owner_domain: string };

export class DatasetCatalog extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS versions (version INTEGER PRIMARY KEY, manifest TEXT NOT NULL)`,
    );
  }

  /** The current manifest and the list of published versions, or null if never published. */
  describe(): { manifest: DatasetManifest; versions: number[] } | null {
    const rows = this.ctx.storage.sql.exec<{ version: number; manifest: string }>(
      `SELECT version, manifest FROM versions ORDER BY version`,
    ).toArray();
    const last = rows.at(-1);
    if (!last) return null;
    return { manifest: JSON.parse(last.manifest), versions: rows.map((r) => r.version) };
  }

  /** Makes `draft` the next version, unless the dataset belongs to another domain. */
  publish(draft: Omit<DatasetManifest, "version" | "etag" | "published_at">): PublishOutcome {
    return this.ctx.storage.transactionSync(() => {
      const current = this.describe();
      if (current && current.manifest.owner_domain !== draft.owner_domain) {
        return { ok: false as const, code: "FOREIGN_DOMAIN" as const, owner_domain: current.manifest.owner_domain };
      }
      const version = (current?.manifest.version ?? 0) + 1;
      const publishedAt = new Date().toISOString();
      const manifest: DatasetManifest = {
        ...draft,
        version,
        published_at: publishedAt,
        etag: `"${draft.name}-v${version}-${draft.tiles.length}-${draft.feature_count}"`,
      };
      this.ctx.storage.sql.exec(
        `INSERT INTO versions (version, manifest) VALUES (?, ?)`,
        version,
        JSON.stringify(manifest),
      );
      return { ok: true as const, manifest };
    });
  }
}
