// The conversation CLI's commands (scripts/conversation.ts parses the flags): open an escrow and
// print the API key, read its status, list an account's escrows, refund through the proxy, reclaim
// after expiry. Every command prints what it does; errors say what to do next.
import { randomBytes } from "node:crypto";
import { formatAmount, parseAmount } from "../../../web4/src/amount.js";
import { type ConversationView, conversationIdOf, isConversationId } from "../../../wire/index.js";
import { CliError } from "../cli.js";
import { type Network, type NetworkOptions, network, signer } from "./network.js";
import { ProxyClient, ProxyRefused, ProxyUnavailable } from "./proxy.js";
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

const NS_PER_MS = 1_000_000n;

/** "5 AIC (5000000 base units)": both, wherever an amount appears. */
const amountText = (meta: TokenMetadata, raw: bigint | string) =>
  `${formatAmount(raw, meta.decimals)} ${meta.symbol} (${raw} base units)`;

function untilText(ns: string): string {
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

/** "3600", "90m", "12h", "30d" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|min|h|d)?$/.exec(text.trim());
  if (!m)
    throw new CliError(
      `--expires-in "${text}" is not a duration`,
      'write seconds, or like "90m", "12h", "30d"',
    );
  const unit = { s: 1, m: 60, min: 60, h: 3600, d: 86_400 }[m[2] ?? "s"] as number;
  return Number(m[1]) * unit;
}

/** The contract's proxy (get_config.web4.proxy_url, set by its owner) unless --proxy-url is given. */
async function proxyFor(ctx: Ctx, override?: string): Promise<ProxyClient> {
  const url = override ?? (await ctx.token.config()).web4?.proxy_url;
  if (!url)
    throw new CliError(
      `${ctx.net.contractId} names no proxy (get_config.web4.proxy_url is empty)`,
      "pass --proxy-url <url>",
    );
  return new ProxyClient(url);
}

const command = (ctx: Ctx, args: string) =>
  `npm run conversation -- ${args}${ctx.net.name === "localnet" ? "" : ` --network ${ctx.net.name} --contract ${ctx.net.contractId}`}`;

// ---------------------------------------------------------------- open

export interface OpenOptions {
  account: string;
  /** Decimal token amount ("5" = 5 AIC). */
  amount: string;
  keyFile?: string;
  proxyUrl?: string;
  expiresIn?: string;
}

export async function open(ctx: Ctx, o: OpenOptions): Promise<StoredConversation> {
  const { out, token } = ctx;
  const [meta, config] = await Promise.all([token.metadata(), token.config()]);
  let amount: bigint;
  try {
    amount = parseAmount(o.amount, meta.decimals);
  } catch (e) {
    throw new CliError(
      `--amount ${o.amount}: ${(e as Error).message}`,
      `write a ${meta.symbol} amount like "5" or "0.25"`,
    );
  }
  if (amount <= 0n) throw new CliError("--amount must be more than 0");
  const expiresInSecs = o.expiresIn === undefined ? undefined : parseDuration(o.expiresIn);
  const bounds = config.conversation_expiry;
  if (expiresInSecs !== undefined && (expiresInSecs < bounds.min_secs || expiresInSecs > bounds.max_secs))
    throw new CliError(
      `--expires-in ${o.expiresIn} is outside ${bounds.min_secs}..${bounds.max_secs} s (get_config.conversation_expiry)`,
      `omit it for the default (${bounds.default_secs} s)`,
    );
  const proxy = await proxyFor(ctx, o.proxyUrl);
  out(
    `→ ${ctx.net.contractId} on ${ctx.net.name}: ${meta.symbol}, ${meta.decimals} decimals; proxy ${proxy.url}`,
  );
  if (!(await token.isRegistered(o.account)))
    throw new CliError(
      `${o.account} is not registered with ${ctx.net.contractId}`,
      "register it (storage_deposit) and get tokens first; see contracts/README.md",
    );
  const balance = await token.balanceOf(o.account);
  out(`→ ${o.account} holds ${amountText(meta, balance)}`);
  if (balance < amount)
    throw new CliError(
      `${o.account} holds ${amountText(meta, balance)}, less than ${amountText(meta, amount)}`,
      "open a smaller conversation, or get tokens first (buy_tokens_for_near or an ft_transfer)",
    );
  const account = signer(ctx.net, o.account, o.keyFile);

  // The secret is on disk before the escrow exists: no crash can leave tokens behind a lost key.
  const secret = randomBytes(32).toString("hex");
  const record: StoredConversation = {
    conversation_id: conversationIdOf(secret),
    secret,
    network: ctx.net.name,
    contract_id: ctx.net.contractId,
    account_id: o.account,
    proxy_url: proxy.url,
    saved_at: new Date().toISOString(),
  };
  const path = ctx.store.save(record);
  out(`→ secret saved to ${path} (mode 0600): it is the API key, keep it`);
  const lifetime = expiresInSecs ?? bounds.default_secs;
  out(`→ start_ai_conversation: ${amountText(meta, amount)} into escrow for ${lifetime} s…`);
  try {
    await token.start(account, {
      conversationId: record.conversation_id,
      amount,
      deposit: BigInt(config.conversation_deposit_max),
      expiresInSecs,
    });
  } catch (e) {
    // A panic is final: nothing was escrowed, so the secret is worth nothing.
    if (/Smart contract panicked/.test((e as Error).message ?? "")) ctx.store.remove(record.conversation_id);
    throw e;
  }
  const view = (await token.conversation(record.conversation_id)) as ConversationView;
  const models = await proxy.models().catch(() => [] as string[]);
  printOpened(ctx, { meta, record, view, path, baseUrl: proxy.baseUrl, models });
  return record;
}

function printOpened(
  ctx: Ctx,
  a: {
    meta: TokenMetadata;
    record: StoredConversation;
    view: ConversationView;
    path: string;
    baseUrl: string;
    models: string[];
  },
) {
  const { out } = ctx;
  const id = a.record.conversation_id;
  const model = a.models[0] ?? "<model id from GET /v1/models>";
  out("");
  out(`Conversation ${id} is open`);
  out(`  deposit     ${amountText(a.meta, a.view.deposit)}`);
  out(`  expires at  ${untilText(a.view.expires_at)}: after it, anything unrefunded can be reclaimed`);
  out(`  secret      ${a.path}`);
  out("");
  out(`API key   ${a.record.secret}`);
  out(`Base URL  ${a.baseUrl}`);
  out(`Models    ${a.models.length ? a.models.join(", ") : "(the proxy did not answer GET /v1/models)"}`);
  out("");
  out("Any OpenAI client works with these two, e.g. in the environment:");
  out(`  export OPENAI_BASE_URL=${a.baseUrl}`);
  out(`  export OPENAI_API_KEY=${a.record.secret}`);
  out("");
  out("openai (JavaScript, npm install openai), as an .mjs file:");
  for (const line of [
    'import OpenAI from "openai";',
    `const ai = new OpenAI({ baseURL: "${a.baseUrl}", apiKey: "${a.record.secret}" });`,
    "const answer = await ai.chat.completions.create({",
    `  model: "${model}",`,
    '  messages: [{ role: "user", content: "Hello!" }],',
    "});",
    "console.log(answer.choices[0].message.content);",
  ])
    out(`  ${line}`);
  out("");
  out(`When you are done: ${command(ctx, `refund --id ${id.slice(0, 12)}`)}`);
}

// ---------------------------------------------------------------- status, list

export interface Target {
  /** A conversation id or a unique prefix of one this machine holds the secret of. */
  id?: string;
  secretFile?: string;
}

/** The conversation and, when this machine has it, its secret. */
function resolve(ctx: Ctx, t: Target): { id: string; stored?: StoredConversation } {
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

async function onChain(ctx: Ctx, id: string): Promise<ConversationView> {
  const view = await ctx.token.conversation(id);
  if (!view)
    throw new CliError(
      `conversation ${id} is not on ${ctx.net.contractId}`,
      "check --network and --contract (open never landed?)",
    );
  return view;
}

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

// ---------------------------------------------------------------- refund, reclaim

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
    out(
      `conversation ${id} is already ${view.status}: ${amountText(meta, view.refund_amount ?? "0")} went back to ${view.receiver_id}`,
    );
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
    out(
      `conversation ${id} is already ${view.status}: ${amountText(meta, view.refund_amount ?? "0")} went back to ${view.receiver_id}`,
    );
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
