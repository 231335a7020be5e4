// Crash safety (T14). A reservation is written durably before the upstream is called and settled
// after; a process killed in between leaves it open. On startup this instance settles its own open
// reservations at their reserved amount ("bill the reservation"): the proxy cannot know what the
// upstream produced after the crash, the client agreed to pay up to that amount, and the ledger stays
// spent + reserved <= deposit with no reservation lost or settled twice (settle is idempotent).
import type { Logger } from "./logger.js";
import type { ConversationStore } from "./store/types.js";

export async function recoverStaleReservations(
  store: ConversationStore,
  owner: string,
  logger: Logger,
): Promise<number> {
  const open = await store.openReservations({ owner });
  for (const r of open) await store.settle(r.reservation_id, r.amount);
  if (open.length > 0)
    logger.warn({ count: open.length, owner }, "settled reservations left open by a previous run");
  return open.length;
}
