// Full integration on localnet: the real token contract (contracts/token/build/token.js), the
// proxy's real NearChainClient (view_ai_conversation at finality final), the openai client, and
// refund_unspent with the proxy's signature. The receiver must get exactly deposit - spent.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { Wallet } from "ethers";
import type { NearAccount, Worker } from "near-workspaces";
import OpenAI from "openai";
import { conversationIdFromSecret } from "../proxy/src/auth.js";
import { parseConfig } from "../proxy/src/config.js";
import { createLogger } from "../proxy/src/logger.js";
import { type RunningProxy, startProxy } from "../proxy/src/server.js";
import { projectRoot } from "./helpers/localnet.js";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { newSecret } from "./helpers/proxy-process.js";
import { balanceOf, initWorker, METADATA, NEAR, newAccount, registerAccount } from "./helpers/token.js";

const tokenJs = join(projectRoot, "contracts", "token", "build", "token.js");
let worker: Worker | undefined;
let proxy: RunningProxy | undefined;
let mock: MockUpstream | undefined;

test.after.always(async () => {
  await proxy?.stop(2000).catch(() => {});
  await mock?.close().catch(() => {});
  await worker?.tearDown().catch(() => {});
});

test("proxy on localnet: open on chain, chat through the proxy, refund_unspent pays exactly deposit - spent", async (t) => {
  if (!existsSync(tokenJs)) {
    t.fail(`missing ${tokenJs}: run \`node contracts/build.mjs\` first`);
    return;
  }
  const ctx = await initWorker();
  worker = ctx.worker;
  const root: NearAccount = ctx.root;
  const owner = await newAccount(root, "owner");
  const alice = await newAccount(root, "alice");
  const token = await newAccount(root, "token", 50n * NEAR);
  await token.deploy(readFileSync(tokenJs));
  await owner.call(token, "new", {
    owner_id: owner.accountId,
    total_supply: "1000000000",
    metadata: METADATA,
  });
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
  mock = await startMockUpstream({ reply: "hello from localnet mock", promptTokens: 30 });
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
  t.like(JSON.parse(signed.refund_message), {
    contract_id: token.accountId,
    conversation_id: conversationId,
    receiver_id: alice.accountId,
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
