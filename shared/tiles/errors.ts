/** Errors raised by the tile codec and the R2 tile reader. */

/** The bytes are not a FlatGeobuf file this codec can read (bad magic, truncated, corrupt index). */
export class FlatGeobufFormatError extends SyntaxError {
  override name = "FlatGeobufFormatError";
}

/** A tile key has no object in the bucket. */
export class TileNotFoundError extends Error {
  override name = "TileNotFoundError";
  constructor(readonly key: string) {
    super(`Tile "${key}" does not exist in the bucket; check the manifest that named it`);
  }
}

/** Features of a parsed FlatGeobuf file carry no id in the id column. */
export class MissingFeatureIdError extends TypeError {
  override name = "MissingFeatureIdError";
  constructor(readonly idColumn: string, readonly featureIndices: number[]) {
    super(
      `${featureIndices.length} feature(s) have no "${idColumn}" property (first at index ${featureIndices[0]}); ` +
        `give every feature an id`,
    );
  }
}
