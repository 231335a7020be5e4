// One place that settles a reservation and records what happened; never throws (a failed settle
// leaves an open reservation that startup recovery bills, so the ledger stays consistent).
import type { ProxyContext } from "../context.js";
import type { Usage } from "../upstreams/types.js";

export interface SettleInput {
  reservationId: string;
  conversationId: string;
  model: string;
  cost: bigint;
  usage?: Usage;
  reason: string;
}

export async function settleReservation(ctx: ProxyContext, input: SettleInput): Promise<bigint | undefined> {
  try {
    const settlement = await ctx.store.settle(input.reservationId, input.cost);
    if (!settlement) return undefined;
    if (input.usage) {
      ctx.metrics.tokens.inc({ model: input.model, kind: "input" }, input.usage.prompt_tokens);
      ctx.metrics.tokens.inc({ model: input.model, kind: "output" }, input.usage.completion_tokens);
    }
    ctx.metrics.billed.inc({ model: input.model }, Number(settlement.charged));
    // The fields are built only when someone reads them (BigInt to string per request otherwise).
    if (ctx.logger.isLevelEnabled("debug"))
      ctx.logger.debug(
        {
          conversation_id: input.conversationId,
          reservation_id: input.reservationId,
          reserved: settlement.reserved.toString(),
          charged: settlement.charged.toString(),
          reason: input.reason,
        },
        "settled",
      );
    return settlement.charged;
  } catch (e) {
    ctx.logger.error(
      { err: (e as Error).message, reservation_id: input.reservationId },
      "settlement failed; the reservation stays open and is billed by startup recovery",
    );
    return undefined;
  }
}
