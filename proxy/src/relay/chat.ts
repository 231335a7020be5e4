// POST /v1/chat/completions: validate -> load conversation -> reserve -> forward (retries, fallback)
// -> relay -> settle from the upstream's usage. Every path after a successful reserve settles exactly
// once (the store makes settle idempotent too).
import { randomUUID } from "node:crypto";
import type { ProxyContext } from "../context.js";
import { ApiError, errors } from "../errors.js";
import { costOf, priceOf } from "../metering/prices.js";
import { quote } from "../metering/reservation.js";
import { callWithFallback, type Route, RoutingError } from "../routing/retry.js";
import { relayJson } from "./json.js";
import { parseChatRequest } from "./request.js";
import { settleReservation } from "./settle.js";
import { relayStream } from "./stream.js";

export function routesFor(ctx: ProxyContext, modelId: string): Route[] {
  const model = ctx.models.get(modelId)!;
  return model.providers.map((name) => {
    const provider = ctx.config.providers.find((p) => p.name === name)!;
    return {
      provider: name,
      upstream: ctx.upstreams.get(name)!,
      upstreamModel: provider.model_aliases[modelId] ?? modelId,
      retry: { ...ctx.config.retry, ...provider.retry },
    };
  });
}

export function routingToApiError(e: RoutingError): ApiError {
  switch (e.status) {
    case 400:
      return errors.badRequest(e.message, null, e.code);
    // The upstream cannot be paid (0G: the operator's ledger is empty): the adapter's own code says so.
    case 402:
      return new ApiError(402, e.message, e.code);
    case 429:
      return errors.rateLimited(e.retryAfterSeconds);
    case 503:
      return errors.upstreamFailed(e.message, 503, e.code);
    case 504:
      return errors.upstreamFailed(e.message, 504, e.code);
    default:
      return errors.upstreamFailed(e.message, 502, e.code);
  }
}

/** Scale-out (async jobs): options for callers other than the HTTP route. */
export interface ChatOptions {
  /**
   * Bill this existing open reservation instead of reserving anew. Jobs reserve at submit with the
   * job id for exactly this body; a redelivered job settles the same id again, and settle is
   * idempotent, so a job is billed once.
   */
  reservedAs?: string;
  /**
   * HTTP on @hono/node-server: the ServerResponse a stream may be written to directly (relay/sink.ts);
   * server.ts attaches it once Hono's middleware has produced the final headers.
   */
  direct?: object;
}

export async function completeChat(
  ctx: ProxyContext,
  conversationId: string,
  body: Record<string, unknown>,
  options: ChatOptions = {},
): Promise<Response> {
  if (ctx.shutdown.signal.aborted) throw errors.shuttingDown();
  const request = parseChatRequest(body);
  const model = ctx.models.get(request.model);
  if (!model) throw errors.unknownModel(request.model);
  const state = await ctx.conversations.load(conversationId);
  if (state.status !== "open") throw errors.conversationClosed();

  const price = priceOf(model);
  const q = quote(body, model, price, state, {
    defaultMaxTokens: ctx.config.metering.default_max_tokens,
    charsPerToken: ctx.config.metering.chars_per_token,
  });
  const reservationId = options.reservedAs ?? randomUUID();
  if (options.reservedAs === undefined) {
    const reserved = await ctx.store.reserve({
      conversation_id: conversationId,
      reservation_id: reservationId,
      amount: q.amount,
      owner: ctx.config.instance_id,
    });
    if (!reserved.ok) {
      if (reserved.reason === "closed") throw errors.conversationClosed();
      if (reserved.reason === "not_found") throw errors.unknownConversation();
      throw errors.insufficientQuota(q.amount, reserved.available);
    }
  }

  const billing = {
    reservationId,
    conversationId,
    model: model.id,
    reservedAmount: q.amount,
    promptTokens: q.promptTokens,
    cost: (usage: { prompt_tokens: number; completion_tokens: number }) =>
      costOf(price, usage.prompt_tokens, usage.completion_tokens),
    estimateCost: (outputTokens: number) => costOf(price, q.promptTokens, outputTokens),
  };

  const stream = request.stream === true;
  const upstreamBody: Record<string, unknown> & { model: string } = { ...body, model: model.id };
  if (q.injectedMaxTokens !== undefined) upstreamBody["max_tokens"] = q.injectedMaxTokens;
  if (stream) upstreamBody["stream_options"] = { ...(request.stream_options ?? {}), include_usage: true };

  let answer: Awaited<ReturnType<typeof callWithFallback>>;
  try {
    answer = await callWithFallback(routesFor(ctx, model.id), upstreamBody, {
      signal: ctx.shutdown.signal,
      onFailedAttempt: (f) => ctx.metrics.upstreamErrors.inc({ provider: f.provider, reason: f.reason }),
    });
  } catch (e) {
    // No attempt answered: nothing was produced for the client, nothing is billed.
    await settleReservation(ctx, { ...billing, cost: 0n, reason: "upstream_failed" });
    if (e instanceof RoutingError) throw routingToApiError(e);
    throw e;
  }

  if (!stream) return relayJson(ctx, answer, billing);
  return relayStream(ctx, answer, billing, {
    clientWantsUsage: request.stream_options?.include_usage === true,
    ...(options.direct ? { direct: options.direct } : {}),
  });
}

export type Billing = {
  reservationId: string;
  conversationId: string;
  model: string;
  reservedAmount: bigint;
  promptTokens: number;
  cost(usage: { prompt_tokens: number; completion_tokens: number }): bigint;
  estimateCost(outputTokens: number): bigint;
};
