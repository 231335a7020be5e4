// Conversation routes: balance view and refund (plus the seed project's /refund-conversation).
import type { Hono } from "hono";
import { bearerSecret, conversationIdFromSecret } from "../auth.js";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import { readJsonObject } from "../http/body.js";
import { refundConversation } from "../refunds/refund.js";
import { available, type ConversationState } from "../store/types.js";

export function conversationRoutes(app: Hono, ctx: ProxyContext): void {
  app.get("/v1/conversations/current", async (c) => {
    const id = conversationIdFromSecret(bearerSecret(c.req.header("authorization")));
    const state = await ctx.conversations.load(id);
    const refund = await ctx.store.getRefund(id);
    return c.json({
      conversation_id: id,
      receiver_id: state.receiver_id,
      deposit: state.deposit.toString(),
      reserved: state.reserved.toString(),
      spent: state.spent.toString(),
      remaining: available(state).toString(),
      status: refund ? "refund_signed" : state.status,
      // ns; after it the opener can reclaim the deposit on chain, so the proxy stops serving before.
      ...(state.escrow ? { expires_at: state.escrow.expires_at.toString() } : {}),
      // ns; when the operator's settlement will end it and pay the unspent part back, if unused till then.
      ...settlementView(ctx, state),
    });
  });

  app.post("/v1/conversations/refund", async (c) => {
    const id = conversationIdFromSecret(bearerSecret(c.req.header("authorization")));
    return c.json(await refundConversation(ctx, id));
  });

  // Seed compatibility: {conversation_id} in the body is the conversation SECRET (see README).
  app.post("/refund-conversation", async (c) => {
    const secret = await seedSecret(c.req.raw, ctx.config.max_body_bytes);
    return c.json(await refundConversation(ctx, conversationIdFromSecret(secret)));
  });
}

/** `settle_at`/`settle_reason` while settlement may still act, `settlement` once it did. */
function settlementView(ctx: ProxyContext, state: ConversationState): Record<string, unknown> {
  const payout = state.payout;
  if (payout && ["settled", "refunded", "reclaimed", "skipped"].includes(payout.state))
    return {
      settlement: {
        status: payout.state,
        ...(payout.refund_amount ? { refund_amount: payout.refund_amount } : {}),
        ...(payout.tx_hash ? { tx_hash: payout.tx_hash } : {}),
      },
    };
  const at = ctx.settlement?.settleAt(state);
  return at ? { settle_at: at.at.toString(), settle_reason: at.reason } : {};
}

/** The secret from the seed routes: body `conversation_id`, else the bearer header. */
export async function seedSecret(
  request: Request,
  limit: number,
  body?: Record<string, unknown>,
): Promise<string> {
  const json = body ?? (await readJsonObject(request, limit));
  const value = json["conversation_id"];
  if (value === undefined) return bearerSecret(request.headers.get("authorization"));
  if (typeof value !== "string" || value.length < 8 || value.length > 512) throw errors.invalidKey();
  return value;
}
