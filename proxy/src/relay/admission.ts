// Admission, once for every surface (HTTP, NATS, jobs; chat, Responses, embeddings, completions):
// the proxy is up, the model exists, the conversation is open, and what the request may cost is
// quoted (prepare); then that amount is reserved atomically (reserve). Jobs prepare at submit, write
// their record, then reserve under their own owner tag.
import type { ModelConfig } from "../config.js";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import type { BalanceView } from "../http/balance-headers.js";
import { forwardedFields } from "../metering/fields.js";
import { costOf, type Price, priceOf } from "../metering/prices.js";
import { type Quote, quote } from "../metering/reservation.js";
import { available, type ConversationState } from "../store/types.js";

export interface Prepared {
  model: ModelConfig;
  price: Price;
  quote: Quote;
  /** The chat-shaped body the quote was made from (absent for input-only requests). */
  meter?: Record<string, unknown>;
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
  /** A job's worker: the reservation exists already (no fit check against the balance, never a 402). */
  reserved?: boolean;
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
      quote: { promptTokens, maxOutputTokens: 0, amount: costOf(price, promptTokens, 0), exact: false },
    };
  }
  const q = quote(input.meter, model, price, state, {
    defaultMaxTokens: ctx.config.metering.default_max_tokens,
    ...(input.reserved ? { reserved: true } : {}),
  });
  return { model, price, quote: q, meter: input.meter };
}

/**
 * The chat.completions body as it may be forwarded: only fields every provider of the model declares
 * (metering/fields.ts); a 400 for length knobs and, by default, for any other unknown field.
 */
export function forwardable(
  ctx: ProxyContext,
  model: string,
  body: Record<string, unknown>,
): Record<string, unknown> {
  const allowed = ctx.requestFields.get(model);
  return allowed ? forwardedFields(body, allowed, ctx.config.metering.unknown_fields) : body;
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
