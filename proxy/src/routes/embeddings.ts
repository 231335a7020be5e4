// POST /v1/embeddings (metered by input tokens at the model's input_price) and the legacy
// POST /v1/completions (forwarded where a provider serves it, else a 404 naming the alternatives).
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { ProxyContext } from "../context.js";
import { ApiError, errors } from "../errors.js";
import { authedJson } from "../http/authed.js";
import { chatSse, reply } from "../http/reply.js";
import { embeddingInputTokens } from "../metering/input-bound.js";
import { prepare } from "../relay/admission.js";
import { modelServes, run, type UpstreamEndpoint } from "../relay/pipeline.js";
import { parseBody } from "../relay/request.js";

const tokenArray = z.array(z.number().int().nonnegative()).min(1).max(100_000);
const embeddingsSchema = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([
    z.string().min(1),
    z.array(z.string().min(1)).min(1).max(2048),
    tokenArray,
    z.array(tokenArray).min(1).max(2048),
  ]),
  dimensions: z.number().int().positive().max(65_536).optional(),
  encoding_format: z.enum(["float", "base64"]).optional(),
});

const completionsSchema = z.looseObject({
  model: z.string().min(1).max(256),
  // Text only: a token-array prompt would be estimated from its JSON digits, below its real length.
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  suffix: z.string().nullish(),
  stream: z.boolean().nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  max_tokens: z.number().int().positive().max(10_000_000).nullish(),
});

/**
 * The authenticated body, valid for `schema`, naming a model every one of whose providers serves
 * this endpoint; else a 404 that says what does (`alternatives`).
 */
async function endpointRequest<T extends z.ZodType<{ model: string }>>(
  c: Context,
  ctx: ProxyContext,
  options: { schema: T; endpoint: UpstreamEndpoint; alternatives: string },
) {
  const { conversationId, body } = await authedJson(c, ctx);
  const request: z.infer<T> = parseBody(options.schema, body);
  const modelId = request.model;
  if (!ctx.models.has(modelId)) throw errors.unknownModel(modelId);
  if (!modelServes(ctx, modelId, options.endpoint))
    throw new ApiError(
      404,
      `the model '${modelId}' is not served on /v1/${options.endpoint} by this proxy; ${options.alternatives}`,
      "endpoint_not_supported",
      "model",
    );
  return { conversationId, body, request };
}

export function embeddingRoutes(app: Hono, ctx: ProxyContext): void {
  app.post("/v1/embeddings", async (c) => {
    const { conversationId, body, request } = await endpointRequest(c, ctx, {
      schema: embeddingsSchema,
      endpoint: "embeddings",
      alternatives: "use a model whose provider serves embeddings (GET /v1/models)",
    });
    const prepared = await prepare(ctx, {
      conversationId,
      model: request.model,
      meter: {},
      inputOnly: { promptTokens: embeddingInputTokens(request.input) },
    });
    return reply(c, {
      stream: false,
      run: () =>
        run(ctx, {
          conversationId,
          endpoint: "embeddings",
          prepared,
          body: { ...body, model: prepared.model.id },
          stream: false,
        }),
    });
  });

  app.post("/v1/completions", async (c) => {
    const { conversationId, body, request } = await endpointRequest(c, ctx, {
      schema: completionsSchema,
      endpoint: "completions",
      alternatives:
        "the legacy completions API is forwarded only to providers that declare it (apis: [completions]); use POST /v1/chat/completions or POST /v1/responses",
    });
    const prompt =
      (Array.isArray(request.prompt) ? JSON.stringify(request.prompt) : request.prompt) +
      (request.suffix ?? "");
    // best_of (completions generated and billed server-side) is refused with the other billing knobs.
    const meter = {
      messages: [{ role: "user", content: prompt }],
      n: request.n ?? 1,
      ...(request.max_tokens ? { max_tokens: request.max_tokens } : {}),
    };
    const prepared = await prepare(ctx, { conversationId, model: request.model, meter });
    const stream = request.stream === true;
    const forwarded: Record<string, unknown> & { model: string } = { ...body, model: prepared.model.id };
    if (prepared.quote.injectedMaxTokens !== undefined)
      forwarded["max_tokens"] = prepared.quote.injectedMaxTokens;
    if (stream) forwarded["stream_options"] = { include_usage: true };
    const wantsUsage =
      (body["stream_options"] as { include_usage?: unknown } | undefined)?.include_usage === true;
    return reply(c, {
      stream,
      consumer: (sink) => chatSse(sink, wantsUsage),
      run: (consumer) =>
        run(ctx, { conversationId, endpoint: "completions", prepared, body: forwarded, stream }, consumer),
    });
  });
}
