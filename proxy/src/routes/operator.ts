// The operator API, behind the operator token (http/operator-auth.ts): the settlement summary, a
// pass on demand, and one conversation's ledger and payout. No user-facing route reaches these.
import type { Hono } from "hono";
import { isConversationId } from "#wire";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import { operatorAuth } from "../http/operator-auth.js";

export function operatorRoutes(app: Hono, ctx: ProxyContext, token: string | undefined): void {
  app.use("/v1/operator/*", operatorAuth(token));

  app.get("/v1/operator/summary", async (c) => {
    const settlement = ctx.settlement;
    if (!settlement) throw errors.settlementOff("not built");
    return c.json(await settlement.summary());
  });

  app.post("/v1/operator/settle", async (c) => {
    const settlement = ctx.settlement;
    if (!settlement) throw errors.settlementOff("not built");
    const dryRun = c.req.query("dry_run");
    if (dryRun !== undefined && dryRun !== "true" && dryRun !== "false")
      throw errors.badRequest("dry_run must be true or false", "dry_run");
    return c.json(await settlement.passNow({ dryRun: dryRun === "true" }));
  });

  app.get("/v1/operator/conversations/:id", async (c) => {
    const id = c.req.param("id");
    if (!isConversationId(id)) throw errors.badRequest("conversation id must be 64 lowercase hex", "id");
    const state = await ctx.store.getConversation(id);
    if (!state) throw errors.unknownConversation();
    const { tx, ...payout } = state.payout ?? ({} as Record<string, unknown>);
    const at = ctx.settlement?.settleAt(state);
    return c.json({
      conversation_id: id,
      receiver_id: state.receiver_id,
      deposit: state.deposit.toString(),
      spent: state.spent.toString(),
      reserved: state.reserved.toString(),
      status: state.status,
      refund_signed: (await ctx.store.getRefund(id)) !== undefined,
      active_at: state.active_at ?? state.created_at,
      ...(state.escrow ? { expires_at: state.escrow.expires_at.toString() } : {}),
      ...(at ? { settle_at: at.at.toString(), settle_reason: at.reason } : {}),
      payout: state.payout ? { ...payout, ...(tx ? { tx_hash: (tx as { hash: string }).hash } : {}) } : null,
    });
  });
}
