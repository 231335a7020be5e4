// OpenAI chat completions, plus the seed project's POST /proxy-openai.
import type { Hono } from "hono";
import { bearerSecret, conversationIdFromSecret } from "../auth.js";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import { nodeBindings, readJsonObject, readJsonObjectFrom } from "../http/body.js";
import { completeChat } from "../relay/chat.js";
import { seedSecret } from "./conversations.js";

export function chatRoutes(app: Hono, ctx: ProxyContext): void {
  app.post("/v1/chat/completions", async (c) => {
    // Auth before the body: an anonymous client never makes the proxy read a megabyte.
    const id = conversationIdFromSecret(bearerSecret(c.req.header("authorization")));
    const node = nodeBindings(c.env);
    const body = node
      ? await readJsonObjectFrom(node.incoming, ctx.config.max_body_bytes)
      : await readJsonObject(c.req.raw, ctx.config.max_body_bytes);
    return completeChat(ctx, id, body, node ? { direct: node.outgoing } : {});
  });

  app.post("/proxy-openai", async (c) => {
    const body = await readJsonObject(c.req.raw, ctx.config.max_body_bytes);
    const secret = await seedSecret(c.req.raw, ctx.config.max_body_bytes, body);
    const { conversation_id: _secret, model, ...rest } = body;
    const modelId = typeof model === "string" ? model : ctx.config.models[0]?.id;
    if (!modelId) throw errors.badRequest("no model configured");
    return completeChat(ctx, conversationIdFromSecret(secret), {
      ...rest,
      model: modelId,
      stream: rest["stream"] ?? false,
    });
  });
}
