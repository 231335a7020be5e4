// The bearer secret's conversation and the JSON body, read in that order: an anonymous client never
// makes the proxy read a megabyte. On @hono/node-server the body comes from the IncomingMessage.
import type { Context } from "hono";
import { bearerSecret, conversationIdFromSecret } from "../auth.js";
import type { ProxyContext } from "../context.js";
import { nodeBindings, readJsonObject, readJsonObjectFrom } from "./body.js";

/** Conversation ids already hashed for a request (by the first-sight gate), so it is hashed once. */
const hashed = new WeakMap<Request, string>();

export function rememberConversationId(c: Context, id: string): void {
  hashed.set(c.req.raw, id);
}

export async function authedJson(
  c: Context,
  ctx: ProxyContext,
): Promise<{ conversationId: string; body: Record<string, unknown> }> {
  const conversationId =
    hashed.get(c.req.raw) ?? conversationIdFromSecret(bearerSecret(c.req.header("authorization")));
  const node = nodeBindings(c.env);
  const body = node
    ? await readJsonObjectFrom(node.incoming, ctx.config.max_body_bytes)
    : await readJsonObject(c.req.raw, ctx.config.max_body_bytes);
  return { conversationId, body };
}
