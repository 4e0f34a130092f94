import { deepEqual, equal } from "node:assert/strict";
import { attributesOf, mergeAttributes, selectAttributes } from "../../../shared/attributes.ts";

const point = { kind: "Point" as const, xy: new Float64Array([0, 0]) };

Deno.test("attributes are typed over all their values: integers with decimals are numbers, other mixes json", () => {
  const features = [
    { id: 1, geometry: point, properties: { name: "a", pop: 1, share: 1, flag: true, mixed: 1, note: null } },
    { id: 2, geometry: point, properties: { name: "b", pop: 2, share: 0.5, flag: false, mixed: "x", tags: [1] } },
  ];
  deepEqual(attributesOf(features), [
    { name: "name", type: "string" },
    { name: "pop", type: "integer" },
    { name: "share", type: "number" },
    { name: "flag", type: "boolean" },
    { name: "mixed", type: "json" },
    { name: "note", type: "string" },
    { name: "tags", type: "json" },
  ]);
  deepEqual(
    mergeAttributes([[{ name: "pop", type: "integer" }], [{ name: "pop", type: "number" }, {
      name: "n",
      type: "string",
    }]]),
    [{ name: "pop", type: "number" }, { name: "n", type: "string" }],
  );
});

Deno.test("a selection becomes left_/right_ columns; unknown, repeated, key-clashing and unrecorded names are problems", () => {
  const name = [{ name: "name", type: "string" as const }, { name: "id", type: "integer" as const }];
  const fields = { left: "left_dataset", right: "dataset" };
  const ok = selectAttributes({ left: ["name"], right: ["name"] }, { left: name, right: name }, fields);
  deepEqual(ok.columns.map((c) => c.column), ["left_name", "right_name"]);
  deepEqual(ok.problems, []);
  const bad = selectAttributes({ left: ["nmae", "name", "name", "id"] }, { left: name, right: null }, fields);
  deepEqual(bad.problems.map((p) => p.path), ["properties.left.0", "properties.left.2", "properties.left.3"]);
  equal(bad.problems[0]!.message, 'left_dataset has no attribute "nmae" (it has "name", "id")');
  const old = selectAttributes({ right: ["name"] }, { left: name, right: null }, fields);
  deepEqual(old.problems.map((p) => p.path), ["properties.right.0"]);
});
