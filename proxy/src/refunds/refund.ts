// Ending a conversation: close (no new reservations) -> wait for in-flight requests to settle ->
// sign deposit - spent -> persist (first writer wins) -> return. A repeated call returns the stored
// message, so a refund can never grow (T09). The message (wire v2) names this deployment and the
// escrow the ledger metered (deposit, created_at), so it pays nowhere else (T16).
import { setTimeout as sleep } from "node:timers/promises";
import { parseTimestamp, type SignedRefund } from "#wire";
import { signRefund } from "#wire/crypto";
import { ChainUnavailableError } from "../chain/types.js";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import type { ConversationState, Reservation } from "../store/types.js";

/**
 * Releases, before the refund waits on them, open reservations that will never be used (the job
 * service: jobs that never started, released at 0). Set per proxy context by whoever owns them.
 */
export type RefundReleaseHook = (open: Reservation[]) => Promise<void>;
const releaseHooks = new WeakMap<RefundContext, RefundReleaseHook>();

/** What a refund needs of the proxy (the settlement worker and `npm run settle` pass the same). */
export type RefundContext = Pick<
  ProxyContext,
  "config" | "store" | "chain" | "conversations" | "logger" | "signer"
>;
export function setRefundReleaseHook(ctx: ProxyContext, hook: RefundReleaseHook): void {
  releaseHooks.set(ctx, hook);
}

export async function refundConversation(ctx: RefundContext, conversationId: string): Promise<SignedRefund> {
  const existing = await ctx.store.getRefund(conversationId);
  if (existing) return existing;
  if (!ctx.signer) throw errors.refundUnavailable();
  await ctx.conversations.load(conversationId);
  await ctx.store.closeConversation(conversationId);
  await waitForInflight(ctx, conversationId);

  const state = (await ctx.store.getConversation(conversationId))!;
  const refund_amount = state.deposit - state.spent;
  const { deployment, created_at } = await escrowOnChain(ctx, state);
  const signed = await signRefund(
    {
      contract_id: ctx.config.chain.contract_id,
      deployment,
      conversation_id: conversationId,
      receiver_id: state.receiver_id,
      deposit: state.deposit.toString(),
      created_at: created_at.toString(),
      refund_amount: refund_amount.toString(),
    },
    ctx.signer,
  );
  const stored = await ctx.store.saveRefund(conversationId, signed);
  ctx.logger.info(
    { conversation_id: conversationId, refund_amount: refund_amount.toString() },
    "refund signed",
  );
  return stored;
}

/** The deployment nonce and the escrow's created_at (ledgers from before v2 lack it: read the chain). */
async function escrowOnChain(ctx: RefundContext, state: ConversationState) {
  try {
    const deployment = await ctx.chain.deployment();
    if (state.escrow) return { deployment, created_at: state.escrow.created_at };
    const view = await ctx.chain.viewConversation(state.conversation_id);
    if (!view) throw errors.unknownConversation();
    return { deployment, created_at: parseTimestamp(view.created_at, "created_at") };
  } catch (e) {
    if (e instanceof ChainUnavailableError) throw errors.chainUnavailable();
    throw e;
  }
}

/**
 * Polls the store (not process memory) so reservations made by other proxy instances sharing the
 * store are waited for too. Past refund_wait_ms the leftovers are billed at their reserved amount,
 * the same rule as crash recovery. The release hook (if any) runs on the first look and again at the
 * deadline, so reservations that will never be used are released at 0 instead of waited for or billed.
 */
async function waitForInflight(ctx: RefundContext, conversationId: string): Promise<void> {
  const deadline = Date.now() + ctx.config.metering.refund_wait_ms;
  const hook = releaseHooks.get(ctx);
  let delay = 5;
  for (let first = true; ; first = false) {
    let open = await ctx.store.openReservations({ conversation_id: conversationId });
    if (open.length === 0) return;
    const late = Date.now() >= deadline;
    if (hook && (first || late)) {
      await hook(open).catch((e) =>
        ctx.logger.warn(
          { err: (e as Error).message, conversation_id: conversationId },
          "refund release hook failed",
        ),
      );
      open = await ctx.store.openReservations({ conversation_id: conversationId });
      if (open.length === 0) return;
    }
    if (late) {
      for (const r of open) await ctx.store.settle(r.reservation_id, r.amount);
      ctx.logger.warn(
        { conversation_id: conversationId, count: open.length },
        "refund billed unsettled reservations",
      );
      return;
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}
