/**
 * Column names in the FlatGeobuf files this service writes (dataset tiles, staged upload parts): the
 * feature id (`id`), the internal fields (`_cells`), and every user property under a name that can
 * never be one of them. A user property named `id` or starting with `_` is stored with one more `_`
 * in front (`id` → `_id`, `_cells` → `__cells`); every other name is stored as it is. The mapping is
 * one-to-one, so reading a file back gives the user's names exactly, and nothing a publisher sends
 * can be read as an internal field. The empty name, which FlatGeobuf readers take for a missing one,
 * is stored as `_`.
 *
 * Files from outside (a GDAL upload) are read with their names as they are: only our own files use
 * this mapping (the reader's `storedColumns` option).
 *
 * @module
 */

/** The column that carries each feature's id (its JSON type kept: number or string). */
export const ID_COLUMN = "id";
/** The internal column of a stored feature spanning cells: the sorted H3 cells it touches, comma-separated. */
export const CELLS_COLUMN = "_cells";

/** The stored column name of the user property `name`. */
export function columnOfProperty(name: string): string {
  return name === ID_COLUMN || name === "" || name.startsWith("_") ? `_${name}` : name;
}

/** The user property a stored column holds, or `null` for the id and internal columns. */
export function propertyOfColumn(column: string): string | null {
  if (column === ID_COLUMN) return null;
  if (!column.startsWith("_")) return column;
  if (column === "_" || column === "_id" || column.startsWith("__")) return column.slice(1);
  return null;
}
