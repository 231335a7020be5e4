// `open`: escrow tokens for a new conversation and print its API key with a ready-to-run client.
// The secret is saved before the escrow exists, so no crash leaves tokens behind a lost key.
import { randomBytes } from "node:crypto";
import { parseAmount } from "#web4/amount";
import type { ConversationView } from "#wire";
import { conversationIdOf } from "#wire/crypto";
import { CliError } from "../cli.js";
import { amountText, type Ctx, command, proxyFor, untilText } from "./context.js";
import { signer } from "./network.js";
import type { StoredConversation } from "./secrets.js";
import type { TokenMetadata } from "./token.js";

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
