/**
 * Feature attributes (GeoJSON `properties`) as a dataset version records them at publish, and the
 * selection a job copies into its result rows (`properties: {left, right}`): each named attribute
 * of a side becomes the result column `left_<name>` / `right_<name>` (API.md), typed as the
 * attribute's values are over the whole side.
 */
import type { FlatFeature } from "../wasm/flat_geometry.ts";

/**
 * An attribute's type over all its values (null and absent values aside): integers that are all
 * safe integers are `integer`; integers mixed with other numbers `number`; anything mixed, or
 * objects and arrays, `json` (written as JSON text where a format has no such type).
 */
export type AttributeType = "boolean" | "integer" | "number" | "string" | "json";
export const ATTRIBUTE_TYPES = ["boolean", "integer", "number", "string", "json"] as const;

export interface Attribute {
  name: string;
  type: AttributeType;
}

/** One result column copied from one side's attribute. */
export interface AttributeColumn extends Attribute {
  side: "left" | "right";
  /** The result column: `left_<name>` or `right_<name>`. */
  column: string;
}

/** The attributes of these features, in first-seen order, each typed over all its values. */
export function attributesOf(features: readonly FlatFeature[]): Attribute[] {
  const types = new Map<string, AttributeType | null>();
  for (const feature of features) {
    const properties = feature.properties;
    if (!properties) continue;
    for (const name in properties) {
      const value = properties[name];
      const type = value === null || value === undefined ? null : typeOfValue(value);
      types.set(name, mergeTypes(types.get(name) ?? null, type));
    }
  }
  return [...types].map(([name, type]) => ({ name, type: type ?? "string" }));
}

/** The attributes of a version published in parts: every part's, types merged (first-seen order). */
export function mergeAttributes(lists: readonly (readonly Attribute[])[]): Attribute[] {
  const types = new Map<string, AttributeType>();
  for (const list of lists) {
    for (const { name, type } of list) {
      const seen = types.get(name);
      types.set(name, seen === undefined ? type : mergeTypes(seen, type)!);
    }
  }
  return [...types].map(([name, type]) => ({ name, type }));
}

function typeOfValue(value: unknown): AttributeType {
  switch (typeof value) {
    case "boolean":
      return "boolean";
    case "number":
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? "integer" : "number";
    case "string":
      return "string";
    default:
      return "json";
  }
}

function mergeTypes(a: AttributeType | null, b: AttributeType | null): AttributeType | null {
  if (a === null || a === b) return b ?? a;
  if (b === null) return a;
  const numeric = (t: AttributeType) => t === "integer" || t === "number";
  return numeric(a) && numeric(b) ? "number" : "json";
}

/** What a job asks to copy: attribute names per side. */
export interface PropertiesSelection {
  left?: readonly string[];
  right?: readonly string[];
}

/** The key columns a copied attribute's column may not take (`left_id` is a left attribute named `id`). */
const KEY_COLUMNS = new Set(["left_id", "right_id"]);

/**
 * The result columns of a selection, or the problems with it: a name the side does not record, a side whose
 * version predates attribute recording (`null`), a name listed twice, or one whose column would be a key column.
 */
export function selectAttributes(
  selection: PropertiesSelection,
  sides: { left: readonly Attribute[] | null; right: readonly Attribute[] | null },
  fields: { left: string; right: string },
): { columns: AttributeColumn[]; problems: { path: string; message: string }[] } {
  const columns: AttributeColumn[] = [];
  const problems: { path: string; message: string }[] = [];
  for (const side of ["left", "right"] as const) {
    const names = selection[side] ?? [];
    const known = sides[side];
    names.forEach((name, i) => {
      const path = `properties.${side}.${i}`;
      const column = `${side}_${name}`;
      const attribute = known?.find((a) => a.name === name);
      if (known === null) {
        problems.push({
          path,
          message: `${fields[side]} was published before attributes were recorded; publish it again to select them`,
        });
      } else if (!attribute) {
        problems.push({
          path,
          message: `${fields[side]} has no attribute "${name}"${
            known.length ? ` (it has ${known.map((a) => JSON.stringify(a.name)).join(", ")})` : " (it has none)"
          }`,
        });
      } else if (names.indexOf(name) !== i) {
        problems.push({ path, message: `"${name}" is listed twice` });
      } else if (KEY_COLUMNS.has(column)) {
        problems.push({ path, message: `the column "${column}" is the result's key column` });
      } else {
        columns.push({ side, name, type: attribute.type, column });
      }
    });
  }
  return { columns, problems };
}
