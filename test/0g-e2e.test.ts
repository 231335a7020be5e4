// End to end: a NEAR conversation on localnet pays for completions served by the local 0G provider.
// localnet + the real token contract + the proxy's NearChainClient on one side; the in-process
// Hardhat chain with the real 0G contracts, the local provider and the real 0G SDK (through the
// proxy's `type: 0g` provider, configured as in docs/0g.md) on the other; the official openai
// client in front. Checked to the unit / wei: the conversation is billed its priced usage, the 0G
// sub-account pays the provider exactly the fee it served, and refund_unspent pays deposit − spent.
// The 0G failure modes (unacknowledged provider, empty ledger, provider down) must answer in
// OpenAI's error shape and cost the NEAR conversation nothing.
// The tests are serial and cumulative (spent and 0G fees add up across them); run the whole file.
import test from "ava";
import { parseEther } from "ethers";
import OpenAI, { APIError } from "openai";
import { parseConfig } from "#internal/proxy/config";
import { createLogger } from "#internal/proxy/logger";
import { type RunningProxy, startProxy } from "#internal/proxy/server";
import type { ZeroGUpstream } from "#internal/proxy/upstreams/0g/index";
import { type NearConversation, type NearStack, startNearStack } from "./helpers/near-stack.js";
import { depositToLedger, type Local0g, ledgerOf, startLocal0g, subAccountOf } from "./helpers/zerog.js";

// Token units per 1M tokens, deliberately not round: the ceil() in the proxy's pricing must show.
const INPUT_PRICE = 1_234_567n;
const OUTPUT_PRICE = 2_345_679n;
const priced = (u: { prompt_tokens: number; completion_tokens: number }) =>
  (BigInt(u.prompt_tokens) * INPUT_PRICE + BigInt(u.completion_tokens) * OUTPUT_PRICE + 999_999n) /
  1_000_000n;

const DEPOSIT = 50_000n;
const WALLET_FUNDS = parseEther("50");
const LEDGER_DEPOSIT = parseEther("10");

let near: NearStack | undefined;
let zg: Local0g | undefined;
let proxy: RunningProxy | undefined;
let conv: NearConversation;
let client: OpenAI;
/** The funded 0G wallet behind provider `zerog`, and the one with no ledger behind `zerog-empty`. */
let operator: { address: string; privateKey: string };
let broke: { address: string; privateKey: string };
/** What the conversation has been billed so far (the sum of priced usages). */
let expectedSpent = 0n;
/** Fees the 0G provider served for `operator` (wei), from the usages it reported. */
let expectedFees = 0n;

test.before(async () => {
  // Sequential: the two chains and the proxy share 2 cores with other suites.
  near = await startNearStack();
  zg = await startLocal0g();
  const funded = await zg.newFundedWallet(WALLET_FUNDS);
  await depositToLedger(zg, funded, LEDGER_DEPOSIT);
  operator = { address: funded.address, privateKey: funded.privateKey };
  const empty = await zg.newFundedWallet(parseEther("5")); // gas money, but no ledger at all
  broke = { address: empty.address, privateKey: empty.privateKey };

  conv = await near.open(DEPOSIT);

  const zgOptions = {
    network: "local",
    rpc_url: zg.rpcUrl,
    ledger_top_up: "0", // the wallet is never touched: every 0G wei moved below is accounted for
    gas_price: "1000000000",
    probe_timeout_ms: 2000,
    // No background sub-account funding during the test; the request path's guard is enough.
    funding_interval_ms: 3_600_000,
  };
  const config = parseConfig({
    port: 0,
    store: { path: ":memory:" },
    chain: { type: "near", rpc_url: near.rpcUrl, contract_id: near.token.accountId },
    retry: { max_retries: 2, initial_delay_ms: 10, max_delay_ms: 50, timeout_ms: 30_000 },
    providers: [
      {
        name: "zerog",
        type: "0g",
        model_aliases: {
          "zg-echo": zg.model,
          "zg-unacked": `${zg.model}-unacknowledged`,
          "zg-down": zg.downProvider.model,
        },
        options: { ...zgOptions, private_key_env: "ZG_E2E_KEY" },
      },
      {
        name: "zerog-empty",
        type: "0g",
        model_aliases: { "zg-broke": zg.model },
        options: { ...zgOptions, private_key_env: "ZG_E2E_EMPTY_KEY" },
      },
    ],
    models: ["zg-echo", "zg-unacked", "zg-down", "zg-broke"].map((id) => ({
      id,
      input_price: INPUT_PRICE.toString(),
      output_price: OUTPUT_PRICE.toString(),
      providers: [id === "zg-broke" ? "zerog-empty" : "zerog"],
    })),
  });
  proxy = await startProxy(config, {
    env: {
      ...process.env,
      AIPROXY_REFUND_SIGNER_KEY: near.refundSigner.privateKey,
      ZG_E2E_KEY: operator.privateKey,
      ZG_E2E_EMPTY_KEY: broke.privateKey,
    },
    logger: createLogger("warn"),
  });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: conv.secret, maxRetries: 0 });
});

test.after.always(async () => {
  await proxy?.stop(2000).catch(() => {});
  await zg?.close().catch(() => {});
  await near?.close().catch(() => {});
});

const upstream = (name: string) => proxy!.context.upstreams.get(name) as ZeroGUpstream;

async function current(): Promise<Record<string, string>> {
  const res = await fetch(`${proxy!.url}/v1/conversations/current`, {
    headers: { authorization: `Bearer ${conv.secret}` },
  });
  return (await res.json()) as Record<string, string>;
}

/** Everything on the 0G chain a failed request must leave alone, for one wallet and provider. */
async function zgSnapshot(wallet: string, provider: string) {
  return {
    balance: await zg!.rpc.getBalance(wallet),
    nonce: await zg!.rpc.getTransactionCount(wallet),
    ledger: await ledgerOf(zg!, wallet),
    sub: await subAccountOf(zg!, wallet, provider),
  };
}

test.serial("non-streaming completion: served by the 0G provider, billed its priced usage", async (t) => {
  const served = zg!.provider.served.length;
  const res = await client.chat.completions.create({
    model: "zg-echo",
    messages: [{ role: "user", content: "one two three" }],
  });
  t.is(res.choices[0]!.message.content, "Echo: one two three");
  t.is(res.model, "zg-echo", "the public model id, not the 0G model name");
  t.deepEqual(res.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, cost: "14" } as never);

  // The provider recorded exactly this answer: same chat id (its ZG-Res-Key), same usage, same fee.
  t.is(zg!.provider.served.length, served + 1);
  const record = zg!.provider.served.at(-1)!;
  t.is(record.chatId, res.id);
  t.is(record.user, operator.address.toLowerCase(), "paid from the proxy's 0G wallet");
  t.deepEqual(record.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  const fee = 3n * zg!.inputPrice + 4n * zg!.outputPrice;
  t.is(record.fee, fee);
  expectedFees += fee;

  expectedSpent += priced(res.usage!);
  t.is(expectedSpent, 14n, "ceil((3·1234567 + 4·2345679) / 1e6) = ceil(13.086417)");
  const view = await current();
  t.is(view["spent"], expectedSpent.toString());
  t.is(view["reserved"], "0");
  t.is(view["deposit"], DEPOSIT.toString());

  // finish() ran processResponse: the SDK verified the provider's TEE signature of this answer.
  const stats = upstream("zerog").stats;
  t.is(stats.processed, 1);
  t.is(stats.verified, 1);
  t.is(stats.feesWei, expectedFees);
});

test.serial("streaming completion: SSE from the 0G provider, usage chunk billed", async (t) => {
  const stream = await client.chat.completions.create({
    model: "zg-echo",
    stream: true,
    stream_options: { include_usage: true },
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: "hello streaming world" },
    ],
  });
  let text = "";
  let usage: OpenAI.CompletionUsage | undefined;
  const ids = new Set<string>();
  for await (const chunk of stream) {
    ids.add(chunk.id);
    text += chunk.choices[0]?.delta?.content ?? "";
    usage = chunk.usage ?? usage;
  }
  t.is(text, "Echo: hello streaming world");
  const { cost, ...reported } = usage as OpenAI.CompletionUsage & { cost?: string };
  t.deepEqual(reported, { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  const record = zg!.provider.served.at(-1)!;
  t.deepEqual([...ids], [record.chatId], "every chunk carries the provider's chat id");
  t.deepEqual(record.usage, reported);
  t.is(cost, priced(usage!).toString(), "usage.cost is the settled charge");
  const fee = 5n * zg!.inputPrice + 4n * zg!.outputPrice;
  t.is(record.fee, fee);
  expectedFees += fee;

  expectedSpent += priced(usage!);
  const view = await current();
  t.is(view["spent"], expectedSpent.toString());
  t.is(view["reserved"], "0");
  const stats = upstream("zerog").stats;
  t.is(stats.processed, 2);
  t.is(stats.verified, 2);
  t.is(stats.feesWei, expectedFees);
  t.is(zg!.provider.unsettled.get(operator.address.toLowerCase()), expectedFees);
});

test.serial("0G side: ledger → sub-account funding and the provider's settlement, to the wei", async (t) => {
  const buffer = 2n * 10n ** 18n; // sub_account_buffer (2) × the provider's 1 0G lock, no unsettled fee yet
  t.deepEqual(await ledgerOf(zg!, operator.address), {
    total: LEDGER_DEPOSIT,
    available: LEDGER_DEPOSIT - buffer,
  });
  const sub = await subAccountOf(zg!, operator.address, zg!.provider.address);
  t.deepEqual(sub, { exists: true, balance: buffer, acknowledged: true });
  t.is(upstream("zerog").stats.transfers, 1, "one ledger → sub-account transfer, nothing from the wallet");
  t.is(upstream("zerog").stats.topUps, 0);

  const providerBefore = await zg!.rpc.getBalance(zg!.provider.address);
  const blockBefore = await zg!.rpc.getBlockNumber();
  const settled = await zg!.provider.settle();
  t.is(settled.get(operator.address.toLowerCase()), expectedFees);
  t.is(zg!.provider.unsettled.get(operator.address.toLowerCase()), 0n);

  t.is(
    (await subAccountOf(zg!, operator.address, zg!.provider.address)).balance,
    buffer - expectedFees,
    "the sub-account paid exactly the served fees",
  );
  t.deepEqual(await ledgerOf(zg!, operator.address), {
    total: LEDGER_DEPOSIT - expectedFees,
    available: LEDGER_DEPOSIT - buffer,
  });
  // The provider receives the fees and pays the gas of its own settlement transaction(s).
  const settleGas = await gasPaidBy(zg!.provider.address, blockBefore + 1);
  t.true(settleGas.txs > 0);
  t.is(await zg!.rpc.getBalance(zg!.provider.address), providerBefore + expectedFees - settleGas.wei);
  // The proxy's wallet sent exactly two transactions: the test's ledger deposit and the adapter's one
  // ledger → sub-account transfer (the sub-account came out of it acknowledged, so the SDK's
  // acknowledgeProviderSigner sent nothing), and never a top-up; it paid their gas and nothing else.
  const walletGas = await gasPaidBy(operator.address, 0);
  t.is(walletGas.txs, 2);
  t.is(await zg!.rpc.getBalance(operator.address), WALLET_FUNDS - LEDGER_DEPOSIT - walletGas.wei);
});

/** Gas paid (wei) by `from` in blocks fromBlock..head; automining gives every tx its own block. */
async function gasPaidBy(from: string, fromBlock: number): Promise<{ wei: bigint; txs: number }> {
  let wei = 0n;
  let txs = 0;
  const head = await zg!.rpc.getBlockNumber();
  for (let n = fromBlock; n <= head; n++) {
    const block = await zg!.rpc.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() !== from.toLowerCase()) continue;
      wei += (await zg!.rpc.getTransactionReceipt(tx.hash))!.fee;
      txs++;
    }
  }
  return { wei, txs };
}

/** Sends one request that must fail before anything is produced; returns the openai error. */
async function failing(model: string): Promise<APIError> {
  const err = await client.chat.completions
    .create({ model, messages: [{ role: "user", content: "anything" }] })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  if (!(err instanceof APIError)) throw new Error(`expected an OpenAI APIError, got ${String(err)}`);
  return err;
}

function openAiShape(t: import("ava").ExecutionContext, err: APIError) {
  const body = err.error as Record<string, unknown>;
  t.deepEqual(Object.keys(body).sort(), ["code", "message", "param", "type"]);
  t.is(typeof body["message"], "string");
  t.false(String(body["message"]).includes(operator.privateKey.slice(2)), "no 0G key in messages");
  t.false(String(body["message"]).includes(broke.privateKey.slice(2)), "no 0G key in messages");
}

test.serial(
  "unacknowledged 0G provider → 503 provider_unacknowledged; the conversation loses nothing",
  async (t) => {
    const before = await current();
    const zgBefore = await zgSnapshot(operator.address, zg!.unacknowledgedProvider.address);
    const served = zg!.unacknowledgedProvider.served.length;
    const err = await failing("zg-unacked");
    t.is(err.status, 503);
    t.is(err.code, "provider_unacknowledged");
    t.is(err.type, "service_unavailable");
    openAiShape(t, err);
    t.deepEqual(await current(), before, "spent unchanged, reservation released");
    t.deepEqual(await zgSnapshot(operator.address, zg!.unacknowledgedProvider.address), zgBefore);
    t.is(zg!.unacknowledgedProvider.served.length, served);
  },
);

let brokeError: APIError | undefined;

test.serial("empty 0G ledger → insufficient_ledger_balance; the conversation loses nothing", async (t) => {
  const before = await current();
  const zgBefore = await zgSnapshot(broke.address, zg!.provider.address);
  t.is(zgBefore.ledger, undefined);
  const served = zg!.provider.served.length;
  brokeError = await failing("zg-broke");
  t.is(brokeError.code, "insufficient_ledger_balance");
  openAiShape(t, brokeError);
  t.deepEqual(await current(), before, "spent unchanged, reservation released");
  t.deepEqual(await zgSnapshot(broke.address, zg!.provider.address), zgBefore, "no 0G transaction sent");
  t.is(zg!.provider.served.length, served);
});

test.serial("empty 0G ledger answers HTTP 402 as documented in docs/0g.md", (t) => {
  t.is(brokeError?.status, 402);
});

test.serial("0G provider down → 503 provider_unavailable; the conversation loses nothing", async (t) => {
  const before = await current();
  const zgBefore = await zgSnapshot(operator.address, zg!.downProvider.address);
  const err = await failing("zg-down");
  t.is(err.status, 503);
  t.is(err.code, "provider_unavailable");
  t.is(err.type, "service_unavailable");
  openAiShape(t, err);
  t.deepEqual(await current(), before, "spent unchanged, reservation released");
  t.deepEqual(await zgSnapshot(operator.address, zg!.downProvider.address), zgBefore);
});

test.serial("refund signed by the proxy: refund_unspent pays back exactly deposit − spent", async (t) => {
  const n = near!;
  const owner = n.world.owner;
  const receiverBefore = await n.balanceOf(conv.receiver);
  const ownerBefore = await n.balanceOf(owner);
  const res = await fetch(`${proxy!.url}/v1/conversations/refund`, {
    method: "POST",
    headers: { authorization: `Bearer ${conv.secret}` },
  });
  t.is(res.status, 200);
  const signed = (await res.json()) as { refund_message: string; signature: string };
  t.like(JSON.parse(signed.refund_message), {
    contract_id: n.token.accountId,
    conversation_id: conv.id,
    receiver_id: conv.receiver.accountId,
    refund_amount: (DEPOSIT - expectedSpent).toString(),
  });
  const result = await conv.receiver.callRaw(n.token, "refund_unspent", signed);
  t.true(result.succeeded, JSON.stringify(result.Failure));
  t.is(await n.balanceOf(conv.receiver), receiverBefore + DEPOSIT - expectedSpent);
  t.is(await n.balanceOf(owner), ownerBefore + expectedSpent, "the operator keeps exactly spent");
  t.like(await n.conversation(conv.id), { status: "refunded" });
});
