// Ending a conversation: `refund` asks the proxy to close it and sign the unspent part back, then
// submits that on chain; `reclaim` takes the whole deposit back after expiry, without the proxy.
import type { ConversationView } from "#wire";
import { CliError } from "../cli.js";
import { amountText, type Ctx, command, onChain, resolve, type Target, untilText } from "./context.js";
import { signer } from "./network.js";
import { ProxyClient, ProxyRefused, ProxyUnavailable } from "./proxy.js";
import type { TokenMetadata } from "./token.js";

export async function refund(
  ctx: Ctx,
  t: Target & { account?: string; keyFile?: string; proxyUrl?: string },
): Promise<{ refunded: bigint; spent: bigint }> {
  const { out } = ctx;
  const { id, stored } = resolve(ctx, t);
  if (!stored)
    throw new CliError(
      `the secret of ${id} is not on this machine: only it can ask the proxy for the refund`,
      `after its expiry the whole deposit can be reclaimed without it: ${command(ctx, `reclaim --id ${id}`)}`,
    );
  const [meta, view] = await Promise.all([ctx.token.metadata(), onChain(ctx, id)]);
  if (view.status === "refunded" || view.status === "reclaimed") {
    out(alreadyEnded(id, meta, view));
    return {
      refunded: BigInt(view.refund_amount ?? "0"),
      spent: BigInt(view.deposit) - BigInt(view.refund_amount ?? "0"),
    };
  }
  const proxy = new ProxyClient(t.proxyUrl ?? stored.proxy_url);
  out(`→ asking ${proxy.url} to close the conversation and sign its refund…`);
  let signed: Awaited<ReturnType<ProxyClient["refund"]>>;
  try {
    signed = await proxy.refund(stored.secret);
  } catch (e) {
    if (e instanceof ProxyUnavailable)
      throw new CliError(
        `${e.message}; your escrow is safe on chain`,
        `retry later; or once it expires at ${untilText(view.expires_at)}, take the whole deposit back: ${command(ctx, `reclaim --id ${id.slice(0, 12)}`)}`,
      );
    throw e instanceof ProxyRefused ? new CliError(`the proxy refused: ${e.message}`) : e;
  }
  const message = JSON.parse(signed.refund_message) as { refund_amount: string; deposit: string };
  const refunded = BigInt(message.refund_amount);
  const spent = BigInt(view.deposit) - refunded;
  out(
    `  signed: ${amountText(meta, refunded)} back to ${view.receiver_id}, ${amountText(meta, spent)} spent`,
  );
  const submitter = t.account ?? stored.account_id;
  const before = await ctx.token.balanceOf(view.receiver_id);
  out(`→ refund_unspent, signed by ${submitter}…`);
  await ctx.token.refund(signer(ctx.net, submitter, t.keyFile), signed);
  const after = await ctx.token.balanceOf(view.receiver_id);
  out(`Refunded: ${view.receiver_id} now holds ${amountText(meta, after)} (was ${amountText(meta, before)})`);
  return { refunded, spent };
}

export async function reclaim(ctx: Ctx, t: Target & { account?: string; keyFile?: string }): Promise<bigint> {
  const { out } = ctx;
  const { id, stored } = resolve(ctx, t);
  const [meta, view] = await Promise.all([ctx.token.metadata(), onChain(ctx, id)]);
  if (view.status === "refunded" || view.status === "reclaimed") {
    out(alreadyEnded(id, meta, view));
    return 0n;
  }
  if (view.status === "open")
    throw new CliError(
      `conversation ${id} expires at ${untilText(view.expires_at)}: it cannot be reclaimed before`,
      stored
        ? `get the unspent part now: ${command(ctx, `refund --id ${id.slice(0, 12)}`)}`
        : "wait for its expiry",
    );
  const submitter = t.account ?? stored?.account_id ?? view.receiver_id;
  out(`→ reclaim_expired_conversation, signed by ${submitter} (the deposit goes to ${view.receiver_id})…`);
  const paid = await ctx.token.reclaim(signer(ctx.net, submitter, t.keyFile), id);
  out(
    `Reclaimed ${amountText(meta, paid)}: ${view.receiver_id} now holds ${amountText(meta, await ctx.token.balanceOf(view.receiver_id))}`,
  );
  return paid;
}

function alreadyEnded(id: string, meta: TokenMetadata, view: ConversationView): string {
  return `conversation ${id} is already ${view.status}: ${amountText(meta, view.refund_amount ?? "0")} went back to ${view.receiver_id}`;
}
