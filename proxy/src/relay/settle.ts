// One place that settles a reservation and records what happened; never throws (a failed settle
// leaves an open reservation that startup recovery bills, so the ledger stays consistent).
// Overage (T18): should an upstream's usage ever cost more than the reservation, the store collects
// the excess from the conversation's unreserved balance only (never below zero); the excess is
// counted in aiproxy_overage_token_units_total and logged with the model, the request id (the
// reservation id) and the answer's id the client saw (`chatcmpl-…`), so the operator sees what the
// bound missed and can price it.
import type { ProxyContext } from "../context.js";
import type { Usage } from "../upstreams/types.js";

export interface SettleInput {
  reservationId: string;
  conversationId: string;
  model: string;
  cost: bigint;
  usage?: Usage;
  reason: string;
  /** The upstream answer's id (`chatcmpl-…`), which the client also sees: for the overage log. */
  answerId?: string | undefined;
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
    if (input.cost > settlement.reserved) {
      const over = input.cost - settlement.reserved;
      ctx.metrics.overage.inc({ model: input.model }, Number(over));
      ctx.metrics.overageEvents.inc({ model: input.model });
      ctx.logger.warn(
        {
          model: input.model,
          request_id: input.reservationId,
          answer_id: input.answerId,
          conversation_id: input.conversationId,
          reserved: settlement.reserved.toString(),
          cost: input.cost.toString(),
          charged: settlement.charged.toString(),
          uncollected: (input.cost - settlement.charged).toString(),
          reason: input.reason,
          usage: input.usage,
        },
        "upstream usage cost more than the reservation",
      );
    }
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
