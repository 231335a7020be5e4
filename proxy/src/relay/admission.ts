// Admission, once for every surface (HTTP, NATS, jobs; chat, Responses, embeddings, completions):
// the proxy is up, the model exists, the conversation is open, and what the request may cost is
// quoted (prepare); then that amount is reserved atomically (reserve). Jobs prepare at submit, write
// their record, then reserve under their own owner tag.
import type { ModelConfig } from "../config.js";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import type { BalanceView } from "../http/balance-headers.js";
import { costOf, type Price, priceOf } from "../metering/prices.js";
import { type Quote, quote } from "../metering/reservation.js";
import { available, type ConversationState } from "../store/types.js";

export interface Prepared {
  model: ModelConfig;
  price: Price;
  quote: Quote;
}

export interface PrepareInput {
  conversationId: string;
  model: string;
  /**
   * The chat-shaped body the reservation is estimated from (messages, tools, response_format, n,
   * max tokens); for Responses it is the translated request.
   */
  meter: Record<string, unknown>;
  /** Embeddings: `promptTokens` bounds the input and nothing is generated. */
  inputOnly?: { promptTokens: number };
}

export async function prepare(ctx: ProxyContext, input: PrepareInput): Promise<Prepared> {
  if (ctx.shutdown.signal.aborted) throw errors.shuttingDown();
  const model = ctx.models.get(input.model);
  if (!model) throw errors.unknownModel(input.model);
  const state = await ctx.conversations.load(input.conversationId);
  if (state.status !== "open") throw errors.conversationClosed();
  if (state.escrow && servingEnded(state.escrow.expires_at, ctx.config.chain.stop_before_expiry_secs))
    throw errors.conversationExpiring(state.escrow.expires_at);
  const price = priceOf(model);
  if (input.inputOnly) {
    const promptTokens = input.inputOnly.promptTokens;
    return {
      model,
      price,
      quote: { promptTokens, maxOutputTokens: 0, amount: costOf(price, promptTokens, 0) },
    };
  }
  const q = quote(input.meter, model, price, state, {
    defaultMaxTokens: ctx.config.metering.default_max_tokens,
    charsPerToken: ctx.config.metering.chars_per_token,
  });
  return { model, price, quote: q };
}

/** True from `marginSecs` before the escrow's expiry: its refund must land before the opener may reclaim. */
export function servingEnded(expiresAt: bigint, marginSecs: number, nowMs = Date.now()): boolean {
  return BigInt(nowMs) * 1_000_000n + BigInt(marginSecs) * 1_000_000_000n >= expiresAt;
}

export function balanceOf(state: ConversationState): BalanceView {
  return { remaining: available(state), reserved: state.reserved };
}

/** Reserves the quoted amount; the conversation's balance right after, or the 402/403/404. */
export async function reserve(
  ctx: ProxyContext,
  prepared: Prepared,
  target: { conversationId: string; reservationId: string; owner: string },
): Promise<BalanceView> {
  const reserved = await ctx.store.reserve({
    conversation_id: target.conversationId,
    reservation_id: target.reservationId,
    amount: prepared.quote.amount,
    owner: target.owner,
  });
  if (!reserved.ok) {
    if (reserved.reason === "closed") throw errors.conversationClosed();
    if (reserved.reason === "not_found") throw errors.unknownConversation();
    throw errors.insufficientQuota(prepared.quote.amount, reserved.available);
  }
  return balanceOf(reserved.state);
}
