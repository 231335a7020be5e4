// Crash safety (T14). A reservation is written durably before the upstream is called and settled
// after; a process killed in between leaves it open. On startup this instance settles its own open
// reservations at their reserved amount ("bill the reservation"): the proxy cannot know what the
// upstream produced after the crash, the client agreed to pay up to that amount, and the ledger stays
// spent + reserved <= deposit with no reservation lost or settled twice (settle is idempotent).
// Job reservations are not this instance's: they are owned by JOB_RESERVATION_OWNER, because a job still
// queued in JetStream may run later on any worker; the job worker settles them (jobs/billing.ts).
import { JOB_RESERVATION_OWNER } from "./jobs/types.js";
import type { Logger } from "./logger.js";
import type { ConversationStore } from "./store/types.js";

export async function recoverStaleReservations(
  store: ConversationStore,
  owner: string,
  logger: Logger,
): Promise<number> {
  if (owner === JOB_RESERVATION_OWNER) {
    // An instance_id equal to the job owner tag would bill every queued job in full: refuse.
    logger.error({ owner }, "instance_id is the job reservation owner tag; startup recovery skipped");
    return 0;
  }
  const open = await store.openReservations({ owner });
  for (const r of open) await store.settle(r.reservation_id, r.amount);
  if (open.length > 0)
    logger.warn({ count: open.length, owner }, "settled reservations left open by a previous run");
  return open.length;
}
