// `status` of one conversation (chain, and the proxy's meter when this machine holds its secret) and
// `list` of an account's conversations, each ending with the next command to run.
import type { ConversationView } from "#wire";
import { amountText, type Ctx, command, onChain, resolve, type Target, untilText } from "./context.js";
import { ProxyClient, ProxyRefused } from "./proxy.js";

const statusText: Record<ConversationView["status"], string> = {
  open: "open",
  expired: "expired: open, and its opener may reclaim it now",
  refunded: "refunded (closed)",
  reclaimed: "reclaimed by its opener after expiry (closed)",
};

export async function status(ctx: Ctx, t: Target & { proxyUrl?: string }): Promise<ConversationView> {
  const { out } = ctx;
  const { id, stored } = resolve(ctx, t);
  const [meta, view] = await Promise.all([ctx.token.metadata(), onChain(ctx, id)]);
  out(`Conversation ${id}`);
  out(`  status      ${statusText[view.status]}`);
  out(`  opener      ${view.receiver_id}`);
  out(`  deposit     ${amountText(meta, view.deposit)}`);
  out(`  created at  ${untilText(view.created_at)}`);
  out(`  expires at  ${untilText(view.expires_at)}`);
  if (view.refund_amount !== undefined) {
    out(`  paid back   ${amountText(meta, view.refund_amount)}`);
    out(`  spent       ${amountText(meta, BigInt(view.deposit) - BigInt(view.refund_amount))}`);
  }
  out(`  secret      ${stored ? ctx.store.pathOf(id) : "not on this machine"}`);
  if (stored && (view.status === "open" || view.status === "expired")) {
    const proxy = new ProxyClient(t.proxyUrl ?? stored.proxy_url);
    try {
      const u = await proxy.usage(stored.secret);
      out(
        `  proxy       spent ${amountText(meta, u.spent)}, reserved ${u.reserved}, remaining ${amountText(meta, u.remaining)} (${u.status})`,
      );
      if (u.settle_at)
        out(
          `  settles at  ${untilText(u.settle_at)}: if unused until then (${u.settle_reason === "expiry" ? "its expiry is near" : "idle"}), the proxy ends it and pays the unspent part back`,
        );
    } catch (e) {
      out(
        `  proxy       ${e instanceof ProxyRefused && e.code === "unknown_conversation" ? "has not served it yet" : (e as Error).message}`,
      );
    }
  }
  if (stored && view.status === "refunded") {
    // Ended by the operator's settlement (the user never came back), or by the user's own refund.
    const u = await new ProxyClient(t.proxyUrl ?? stored.proxy_url)
      .usage(stored.secret)
      .catch(() => undefined);
    if (u?.settlement?.status === "settled")
      out(
        `  settled by  the proxy, on its own${u.settlement.tx_hash ? ` (transaction ${u.settlement.tx_hash})` : ""}`,
      );
  }
  if (view.status === "expired") out(`next: ${command(ctx, `reclaim --id ${id.slice(0, 12)}`)}`);
  else if (view.status === "open" && stored)
    out(`next: ${command(ctx, `refund --id ${id.slice(0, 12)}`)} when you are done`);
  return view;
}

export async function list(ctx: Ctx, o: { account: string }) {
  const { out } = ctx;
  const [meta, conversations] = await Promise.all([ctx.token.metadata(), ctx.token.conversations(o.account)]);
  const here = new Set(ctx.store.all().map((c) => c.conversation_id));
  out(`${o.account} opened ${conversations.length} conversation(s) on ${ctx.net.contractId} (newest first):`);
  for (const c of conversations) {
    const closing =
      c.status === "open" || c.status === "expired"
        ? `expires ${untilText(c.expires_at)}`
        : `paid back ${c.refund_amount}`;
    out(
      `  #${c.index}  ${c.conversation_id.slice(0, 12)}  ${c.status.padEnd(9)}  ${amountText(meta, c.deposit)}  ${closing}${here.has(c.conversation_id) ? "  [secret here]" : ""}`,
    );
  }
  const reclaimable = conversations.filter((c) => c.status === "expired");
  if (reclaimable.length)
    out(`next: ${command(ctx, `reclaim --id ${reclaimable[0]!.conversation_id}`)} (expired, reclaimable)`);
  return conversations;
}
