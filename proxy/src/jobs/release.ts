// Ending job reservations that no run will settle: released at 0 when the job never started, billed
// at the reservation when an earlier worker started it and died (billing.ts, unrunCost). Used by the
// worker for deliveries it will not run and by the refund's release hook for queued jobs.
import type { ProxyContext } from "../context.js";
import { ApiError, errorReply } from "../errors.js";
import type { Reservation } from "../store/types.js";
import { billedText, cancelStep, unrunCost } from "./billing.js";
import { type JobRecords, nowSeconds } from "./records.js";
import { JOB_RESERVATION_OWNER, type JobRecord } from "./types.js";

/** Releases a job reservation nobody will run (idempotent: a settled one keeps its charge). */
export async function releaseJob(ctx: ProxyContext, id: string, why: string): Promise<void> {
  const settlement = await ctx.store.settle(id, 0n);
  if (settlement && settlement.reserved > 0n && settlement.charged === 0n)
    ctx.logger.info({ job_id: id, why }, "job reservation released at 0");
}

/** A terminal record whose settlement is pending and whose worker is gone. */
export async function settlePending(
  ctx: ProxyContext,
  records: JobRecords,
  record: JobRecord,
): Promise<void> {
  const settlement = await ctx.store.settle(record.id, unrunCost(record));
  await records.put({ ...record, billed: billedText(settlement) });
}

/**
 * The refund's release hook: ends the jobs among these open reservations that are not running —
 * record expired unclaimed, or queued (compare-and-set to failed `job_cancelled`, so no worker starts
 * it afterwards) — at 0, or at the reservation for a job re-queued after a worker died in its run
 * (unrunCost). Running jobs are left to settle: the refund waits for them (a dead worker's job is
 * redelivered within ack_wait, meets the closed conversation and is billed by the same rule), and
 * bills what is still open past metering.refund_wait_ms at its reservation.
 */
export async function releaseUnstarted(
  ctx: ProxyContext,
  records: JobRecords,
  open: Reservation[],
): Promise<void> {
  for (const r of open) {
    if (r.owner !== JOB_RESERVATION_OWNER) continue;
    for (let tries = 0; tries < 5; tries++) {
      const { record, revision } = await records.read(r.reservation_id);
      const step = cancelStep(record);
      if (step === "release") await releaseJob(ctx, r.reservation_id, "expired before any worker took it");
      if (step === "settle-pending" && record) await settlePending(ctx, records, record);
      if (step !== "cancel" || !record) break;
      const cancelled: JobRecord = {
        ...record,
        status: "failed",
        completed_at: nowSeconds(),
        error: errorReply(
          new ApiError(
            409,
            "the conversation was closed (refund requested) before a worker started this job",
            "job_cancelled",
          ),
        ).body.error,
      };
      if (!(await records.cas(cancelled, revision))) continue; // a worker claimed it meanwhile: re-read
      const settlement = await ctx.store.settle(record.id, unrunCost(record));
      await records.put({ ...cancelled, billed: billedText(settlement) });
      ctx.logger.info({ job_id: record.id }, "queued job cancelled by a refund");
      break;
    }
  }
}
