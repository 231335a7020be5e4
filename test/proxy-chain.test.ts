// Full integration on localnet: the real token contract (as the test helpers deploy it), the
// proxy's real NearChainClient (view_ai_conversation at finality final), the openai client, and
// refund_unspent with the proxy's signature. The receiver must get exactly deposit - spent.
import test from "ava";
import { Wallet } from "ethers";
import type { NearAccount, Worker } from "near-workspaces";
import OpenAI from "openai";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { parseConfig } from "#internal/proxy/config";
import { createLogger } from "#internal/proxy/logger";
import { type RunningProxy, startProxy } from "#internal/proxy/server";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { newSecret } from "./helpers/proxy-process.js";
import { balanceOf, deployAndInit, initWorker, NEAR, newAccount, registerAccount } from "./helpers/token.js";

let worker: Worker | undefined;
let proxy: RunningProxy | undefined;
let mock: MockUpstream | undefined;

test.after.always(async () => {
  await proxy?.stop(2000).catch(() => {});
  await mock?.close().catch(() => {});
  await worker?.tearDown().catch(() => {});
});

test("proxy on localnet: open on chain, chat through the proxy, refund_unspent pays exactly deposit - spent", async (t) => {
  const ctx = await initWorker();
  worker = ctx.worker;
  const root: NearAccount = ctx.root;
  const owner = await newAccount(root, "owner");
  const alice = await newAccount(root, "alice");
  const token = await newAccount(root, "token", 50n * NEAR);
  t.true((await deployAndInit(token, owner, 1_000_000_000n)).succeeded);
  await registerAccount(token, alice);
  await owner.call(
    token,
    "ft_transfer",
    { receiver_id: alice.accountId, amount: "10000" },
    { attachedDeposit: 1n },
  );
  const signer = new Wallet(Wallet.createRandom().privateKey);
  await owner.call(token, "set_refund_signers", { signers: [signer.address] });

  // The user's side: a secret, its hash on chain.
  const secret = newSecret();
  const conversationId = conversationIdFromSecret(secret);
  const deposit = 5000n;
  await alice.call(
    token,
    "start_ai_conversation",
    { conversation_id: conversationId, amount: deposit.toString() },
    { attachedDeposit: NEAR / 10n },
  );
  t.is(await balanceOf(token, alice), 10_000n - deposit);
  const ownerBefore = await balanceOf(token, owner);

  // The proxy, reading the real chain.
  mock = await startMockUpstream({ reply: "hello from localnet mock" });
  const rpcUrl = (worker.provider as unknown as { connection: { url: string } }).connection.url;
  const config = parseConfig({
    port: 0,
    store: { path: ":memory:" },
    chain: { type: "near", rpc_url: rpcUrl, contract_id: token.accountId },
    providers: [{ name: "mock", type: "openai-compatible", base_url: mock.url }],
    models: [{ id: "mock-model", input_price: "1000000", output_price: "2000000", providers: ["mock"] }],
  });
  proxy = await startProxy(config, {
    env: { ...process.env, AIPROXY_REFUND_SIGNER_KEY: signer.privateKey },
    logger: createLogger("warn"),
  });
  const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: secret, maxRetries: 0 });

  const first = await client.chat.completions.create({
    model: "mock-model",
    messages: [{ role: "user", content: "hi" }],
  });
  t.is(first.choices[0]!.message.content, "hello from localnet mock");
  const stream = await client.chat.completions.create({
    model: "mock-model",
    messages: [{ role: "user", content: "again" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let streamUsage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) streamUsage = chunk.usage ?? streamUsage;
  const cost = (u: OpenAI.CompletionUsage) => BigInt(u.prompt_tokens) + 2n * BigInt(u.completion_tokens);
  const spent = cost(first.usage!) + cost(streamUsage!);

  const view = (await (
    await fetch(`${proxy.url}/v1/conversations/current`, { headers: { authorization: `Bearer ${secret}` } })
  ).json()) as Record<string, string>;
  t.is(view["deposit"], deposit.toString());
  t.is(view["spent"], spent.toString());

  // Refund through the proxy, submitted by the user.
  const signed = (await (
    await fetch(`${proxy.url}/v1/conversations/refund`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}` },
    })
  ).json()) as { refund_message: string; signature: string };
  const onChain = await token.view<{ created_at: string }>("view_ai_conversation", {
    conversation_id: conversationId,
  });
  t.deepEqual(JSON.parse(signed.refund_message), {
    contract_id: token.accountId,
    deployment: (await token.view<{ deployment: string }>("get_config")).deployment,
    conversation_id: conversationId,
    receiver_id: alice.accountId,
    deposit: deposit.toString(),
    created_at: onChain.created_at,
    refund_amount: (deposit - spent).toString(),
  });
  const result = await alice.callRaw(token, "refund_unspent", signed);
  t.true(result.succeeded, JSON.stringify(result.Failure));
  t.is(
    await balanceOf(token, alice),
    10_000n - deposit + (deposit - spent),
    "receiver got exactly deposit - spent",
  );
  t.is(await balanceOf(token, owner), ownerBefore + spent, "operator got exactly spent");
  t.like(await token.view("view_ai_conversation", { conversation_id: conversationId }), {
    status: "refunded",
  });

  // The proxy serves nothing more for this secret, and a replay of the refund fails on chain.
  await t.throwsAsync(
    client.chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] }),
    {
      instanceOf: OpenAI.PermissionDeniedError,
    },
  );
  const replay = await alice.callRaw(token, "refund_unspent", signed);
  t.true(replay.failed);
});
