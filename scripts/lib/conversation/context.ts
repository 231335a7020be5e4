// What every conversation command shares: the network, token and secret store it works on, how
// amounts and times are printed, which conversation a command means, and the next command to run.
import { formatAmount } from "#web4/amount";
import { type ConversationView, isConversationId } from "#wire";
import { CliError } from "../cli.js";
import { type Network, type NetworkOptions, network } from "./network.js";
import { ProxyClient } from "./proxy.js";
import { readSecretFile, SecretStore, type StoredConversation } from "./secrets.js";
import { TokenClient, type TokenMetadata } from "./token.js";

export interface CommonOptions extends NetworkOptions {
  secretsDir: string;
}

export interface Ctx {
  net: Network;
  token: TokenClient;
  store: SecretStore;
  out: (line: string) => void;
}

export function context(opts: CommonOptions, out: (line: string) => void = console.log): Ctx {
  const net = network(opts);
  return {
    net,
    token: new TokenClient(net.provider, net.contractId),
    store: new SecretStore(opts.secretsDir, net.name, net.contractId),
    out,
  };
}

export const NS_PER_MS = 1_000_000n;

/** "5 AIC (5000000 base units)": both, wherever an amount appears. */
export const amountText = (meta: TokenMetadata, raw: bigint | string) =>
  `${formatAmount(raw, meta.decimals)} ${meta.symbol} (${raw} base units)`;

export function untilText(ns: string): string {
  const ms = Number(BigInt(ns) / NS_PER_MS) - Date.now();
  const iso = new Date(Number(BigInt(ns) / NS_PER_MS)).toISOString();
  const abs = Math.abs(ms);
  const span =
    abs >= 86_400_000
      ? `${Math.floor(abs / 86_400_000)} d ${Math.floor((abs % 86_400_000) / 3_600_000)} h`
      : abs >= 3_600_000
        ? `${Math.floor(abs / 3_600_000)} h ${Math.floor((abs % 3_600_000) / 60_000)} min`
        : `${Math.ceil(abs / 1000)} s`;
  return ms >= 0 ? `${iso} (in ${span})` : `${iso} (${span} ago)`;
}

/** The contract's proxy (get_config.web4.proxy_url, set by its owner) unless --proxy-url is given. */
export async function proxyFor(ctx: Ctx, override?: string): Promise<ProxyClient> {
  const url = override ?? (await ctx.token.config()).web4?.proxy_url;
  if (!url)
    throw new CliError(
      `${ctx.net.contractId} names no proxy (get_config.web4.proxy_url is empty)`,
      "pass --proxy-url <url>",
    );
  return new ProxyClient(url);
}

export const command = (ctx: Ctx, args: string) =>
  `npm run conversation -- ${args}${ctx.net.name === "localnet" ? "" : ` --network ${ctx.net.name} --contract ${ctx.net.contractId}`}`;

export interface Target {
  /** A conversation id or a unique prefix of one this machine holds the secret of. */
  id?: string;
  secretFile?: string;
}

/** The conversation and, when this machine has it, its secret. */
export function resolve(ctx: Ctx, t: Target): { id: string; stored?: StoredConversation } {
  if (t.secretFile) {
    const stored = readSecretFile(t.secretFile);
    return { id: stored.conversation_id, stored };
  }
  if (!t.id)
    throw new CliError(
      "which conversation?",
      "pass --id <conversation id> (see `list`) or --secret-file <path>",
    );
  const stored = ctx.store.find(t.id);
  if (stored) return { id: stored.conversation_id, stored };
  if (isConversationId(t.id)) return { id: t.id };
  throw new CliError(
    `no secret here starts with ${t.id}`,
    "pass the whole 64-character id (see `list --account …`)",
  );
}

export async function onChain(ctx: Ctx, id: string): Promise<ConversationView> {
  const view = await ctx.token.conversation(id);
  if (!view)
    throw new CliError(
      `conversation ${id} is not on ${ctx.net.contractId}`,
      "check --network and --contract (open never landed?)",
    );
  return view;
}
