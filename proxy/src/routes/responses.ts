// OpenAI's Responses API: POST /v1/responses (JSON and streaming), GET /v1/responses/{id} (responses
// this proxy stored for the same conversation).
import type { Hono } from "hono";
import { bearerSecret, conversationIdFromSecret } from "../auth.js";
import type { ProxyContext } from "../context.js";
import { ApiError } from "../errors.js";
import { authedJson } from "../http/authed.js";
import { reply } from "../http/reply.js";
import { responsesCall } from "../responses/serve.js";

export function responseRoutes(app: Hono, ctx: ProxyContext): void {
  app.post("/v1/responses", async (c) => {
    const { conversationId, body } = await authedJson(c, ctx);
    return reply(c, await responsesCall(ctx, conversationId, body));
  });

  app.get("/v1/responses/:id", (c) => {
    const conversationId = conversationIdFromSecret(bearerSecret(c.req.header("authorization")));
    const stored = ctx.responses.get(c.req.param("id"), conversationId);
    if (!stored)
      throw new ApiError(
        404,
        `no stored response '${c.req.param("id")}' for this conversation`,
        "response_not_found",
        "id",
      );
    return c.json(stored.response);
  });
}
