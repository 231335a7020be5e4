// The chat core, for every surface and every OpenAI endpoint: admission (admission.ts) -> reserve ->
// upstream with retries and fallback (routing/retry.ts) -> settle from the upstream's usage. It
// returns a domain result (result.ts): a settled completion, or a stream whose events go to the
// surface's consumer. Every path after a successful reserve settles exactly once (the store makes
// settle idempotent too).
import { randomUUID } from "node:crypto";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import { refuseBillingKnobs } from "../metering/fields.js";
import { callWithFallback, RoutingError } from "../routing/retry.js";
import type { Upstream, UpstreamCall, UpstreamRequest } from "../upstreams/types.js";
import { forwardable, type Prepared, prepare, reserve } from "./admission.js";
import { billingFor } from "./billing.js";
import { readCompletion } from "./completion.js";
import { parseChatRequest } from "./request.js";
import type { ChatResult, StreamConsumer } from "./result.js";
import { routesFor, routingToApiError } from "./routes.js";
import { settleReservation } from "./settle.js";
import { pumpStream } from "./stream.js";

/** The OpenAI endpoint a request goes to upstream. */
export type UpstreamEndpoint = "chat" | "responses" | "embeddings" | "completions";

export function endpointOf(upstream: Upstream, endpoint: UpstreamEndpoint) {
  if (endpoint === "chat") return (r: UpstreamRequest) => upstream.chat(r);
  const method = upstream[endpoint];
  return method ? (r: UpstreamRequest) => method.call(upstream, r) : undefined;
}

/** Every provider of the model serves this endpoint (fallback must not change the answer's format). */
export function modelServes(ctx: ProxyContext, modelId: string, endpoint: UpstreamEndpoint): boolean {
  return routesFor(ctx, modelId).every((r) => endpointOf(r.upstream, endpoint) !== undefined);
}

export interface RunInput {
  conversationId: string;
  endpoint: UpstreamEndpoint;
  prepared: Prepared;
  /** What is forwarded (its `model` is replaced per route by the provider's name for it). */
  body: Record<string, unknown> & { model: string };
  stream: boolean;
  /**
   * Bill this existing open reservation instead of reserving anew. Jobs reserve at submit with the
   * job id for exactly this body; a redelivered job settles the same id again, and settle is
   * idempotent, so a job is billed once.
   */
  reservedAs?: string;
  /** The amount reservedAs holds (what a no-usage answer is billed, never more). */
  reservedAmount?: bigint;
}

export async function run(
  ctx: ProxyContext,
  input: RunInput,
  consumer?: StreamConsumer,
): Promise<ChatResult> {
  if (input.stream && !consumer) throw new Error("a streaming request needs a consumer");
  const { prepared, conversationId } = input;
  // Whatever the endpoint, a provider length field never reaches an upstream (T18).
  refuseBillingKnobs(input.body);
  const reservationId = input.reservedAs ?? randomUUID();
  const balance =
    input.reservedAs === undefined
      ? await reserve(ctx, prepared, { conversationId, reservationId, owner: ctx.instanceId })
      : undefined;
  const billing = billingFor(prepared, {
    reservationId,
    conversationId,
    ...(input.reservedAmount === undefined ? {} : { reservedAmount: input.reservedAmount }),
  });

  let answer: Awaited<ReturnType<typeof callWithFallback>>;
  try {
    answer = await callWithFallback(routesFor(ctx, prepared.model.id), input.body, {
      signal: ctx.shutdown.signal,
      scrub: (text) => ctx.scrubber.values(text),
      send: (upstream, request): Promise<UpstreamCall> => {
        const call = endpointOf(upstream, input.endpoint);
        if (!call)
          throw new RoutingError(
            404,
            `${upstream.name}: no ${input.endpoint} endpoint`,
            "endpoint_not_served",
          );
        return call(request);
      },
      onFailedAttempt: (f) => ctx.metrics.upstreamErrors.inc({ provider: f.provider, reason: f.reason }),
    });
  } catch (e) {
    // No attempt answered: nothing was produced for the client, nothing is billed.
    await settleReservation(ctx, { ...billing, cost: 0n, reason: "upstream_failed" });
    if (e instanceof RoutingError) throw routingToApiError(e);
    throw e;
  }
  if (!input.stream) return readCompletion(ctx, answer, billing);
  const settled = pumpStream(ctx, answer, billing, consumer!);
  // reservedAs streams do not exist (jobs never stream); the balance is then unknown here.
  return { kind: "stream", balance: balance ?? { remaining: 0n, reserved: 0n }, settled };
}

export interface ChatInput {
  conversationId: string;
  body: Record<string, unknown>;
  reservedAs?: string;
  reservedAmount?: bigint;
}

/** POST /v1/chat/completions on any surface: validate, admit, run. */
export async function runChat(
  ctx: ProxyContext,
  input: ChatInput,
  consumer?: StreamConsumer,
): Promise<ChatResult> {
  const request = parseChatRequest(input.body);
  // Only fields the model's providers declare go on (and into the bound): 400 or dropped otherwise.
  const body = forwardable(ctx, request.model, input.body);
  const prepared = await prepare(ctx, {
    conversationId: input.conversationId,
    model: request.model,
    meter: body,
    ...(input.reservedAs ? { reserved: true } : {}),
  });
  const stream = request.stream === true;
  const upstreamBody: Record<string, unknown> & { model: string } = { ...body, model: prepared.model.id };
  if (prepared.quote.injectedMaxTokens !== undefined)
    upstreamBody["max_tokens"] = prepared.quote.injectedMaxTokens;
  if (stream) upstreamBody["stream_options"] = { ...(request.stream_options ?? {}), include_usage: true };
  if (stream && !consumer) throw errors.badRequest("streaming is not available here", "stream");
  return run(
    ctx,
    {
      conversationId: input.conversationId,
      endpoint: "chat",
      prepared,
      body: upstreamBody,
      stream,
      ...(input.reservedAs ? { reservedAs: input.reservedAs } : {}),
      ...(input.reservedAmount === undefined ? {} : { reservedAmount: input.reservedAmount }),
    },
    consumer,
  );
}
