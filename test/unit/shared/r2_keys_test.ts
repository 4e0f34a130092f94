import { deepEqual, equal } from "node:assert/strict";
import {
  datasetVersionPrefix,
  parseDatasetObjectKey,
  parseJobObjectKey,
  resultKey,
  stagedPartKey,
  tileKey,
  uploadPartPrefix,
} from "../../../shared/r2_keys.ts";

const JOB = `job_8a2a1072b59ffff_${"0123456789abcdef".repeat(2)}`;
const UUID = "3f2b8c1e-9d4a-4f6b-8e2a-1c5d7f9b0a3e";

Deno.test("staged parts and results parse back to their job, attempt and kind; other keys do not parse", () => {
  const part = stagedPartKey(JOB, 2, "852a1073fffffff", 7);
  equal(part, `jobs/${JOB}/staging/a2/parts/852a1073fffffff/000007.part`);
  deepEqual(parseJobObjectKey(part), { jobId: JOB, attempt: 2, result: false });
  equal(resultKey(JOB, 3, "flatgeobuf"), `jobs/${JOB}/results/a3.fgb`);
  deepEqual(parseJobObjectKey(resultKey(JOB, 3, "geojson")), { jobId: JOB, attempt: 3, result: true });
  equal(parseJobObjectKey(`jobs/${JOB}/input/left.fgb`), null);
  equal(parseJobObjectKey(`payloads/abc/tiles/852a1073fffffff.fgb`), null);
});

Deno.test("a dataset tile, merged or in an upload part, parses back to its version prefix and dataset name", () => {
  const prefix = datasetVersionPrefix("us-counties", UUID);
  const merged = tileKey(prefix, "852a1073fffffff");
  equal(merged, `datasets/us-counties/${UUID}/tiles/852a1073fffffff.fgb`);
  deepEqual(parseDatasetObjectKey(merged), { prefix, name: "us-counties" });
  deepEqual(parseDatasetObjectKey(tileKey(uploadPartPrefix(prefix, 4), "852a1073fffffff")), {
    prefix,
    name: "us-counties",
  });
  equal(parseDatasetObjectKey(`datasets/us-counties/not-a-uuid/tiles/x.fgb`), null);
});
