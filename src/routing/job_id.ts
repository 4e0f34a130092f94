/**
 * Job ids carry their home partition: `job_<h3 cell>_<32 hex>`. A poll routes
 * straight to the partition Durable Object that holds the job's ledger,
 * without any global lookup.
 */
import { isValidCell } from "h3-js";

const JOB_ID = /^job_([0-9a-f]{15})_([0-9a-f]{32})$/;

export function newJobId(homeCell: string): string {
  const random = crypto.getRandomValues(new Uint8Array(16));
  return `job_${homeCell}_${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The home cell of a job id, or null when the id is not one of ours. */
export function homeCellOf(jobId: string): string | null {
  const cell = JOB_ID.exec(jobId)?.[1];
  return cell && isValidCell(cell) ? cell : null;
}
