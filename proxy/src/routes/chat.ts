// OpenAI chat completions, plus the seed project's POST /proxy-openai.
import type { Hono } from "hono";
import { conversationIdFromSecret } from "../auth.js";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import { authedJson } from "../http/authed.js";
import { readJsonObject } from "../http/body.js";
import { chatSse, jsonReply, reply } from "../http/reply.js";
import { runChat } from "../relay/pipeline.js";
import { seedSecret } from "./conversations.js";

export function chatRoutes(app: Hono, ctx: ProxyContext): void {
  app.post("/v1/chat/completions", async (c) => {
    const { conversationId, body } = await authedJson(c, ctx);
    const wantsUsage =
      (body["stream_options"] as { include_usage?: unknown } | undefined)?.include_usage === true;
    return reply(c, {
      stream: body["stream"] === true,
      consumer: (sink) => chatSse(sink, wantsUsage),
      run: (consumer) => runChat(ctx, { conversationId, body }, consumer),
    });
  });

  app.post("/proxy-openai", async (c) => {
    const body = await readJsonObject(c.req.raw, ctx.config.max_body_bytes);
    const secret = await seedSecret(c.req.raw, ctx.config.max_body_bytes, body);
    const { conversation_id: _secret, model, stream: _stream, ...rest } = body;
    const modelId = typeof model === "string" ? model : ctx.config.models[0]?.id;
    if (!modelId) throw errors.badRequest("no model configured");
    const result = await runChat(ctx, {
      conversationId: conversationIdFromSecret(secret),
      body: { ...rest, model: modelId, stream: false },
    });
    if (result.kind !== "completion") throw new Error("unreachable: a non-streaming request streamed");
    return jsonReply(result);
  });
}
