// Two proxy PROCESSES on one JetStream ledger settle every idle conversation exactly once on
// localnet, and still exactly once when the leader is killed with SIGKILL in the middle of a
// settlement and restarted. "Once" is counted on chain: every conversation refunded, the operator
// account's access-key nonce moved by exactly one transaction per conversation, balances exact.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { connect, type KV, KvWatchInclude, type NatsConnection } from "nats";
import { JsonRpcProvider } from "near-api-js";
import type { NearAccount } from "near-workspaces";
import OpenAI from "openai";
import { stringify } from "yaml";
import type { ConversationView } from "#wire";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { type ChildProxy, type NatsServer, spawnProxy, startNatsServer } from "./helpers/nats-server.js";
import { type NearConversation, type NearStack, startNearStack } from "./helpers/near-stack.js";
import { NEAR, newAccount } from "./helpers/token.js";

const BUCKET = "settle_scale";
const dir = mkdtempSync(join(tmpdir(), "aiproxy-settle-scale-"));
const configFile = join(dir, "proxy.yaml");
let stack: NearStack;
let server: NatsServer;
let mock: MockUpstream;
let nc: NatsConnection;
let kv: KV;
let settler: NearAccount;
let settlerKey: string;
let rpc: JsonRpcProvider;
const children: Record<string, ChildProxy> = {};

const start = async (instance: string) => {
  children[instance] = await spawnProxy(configFile, {
    AIPROXY_INSTANCE_ID: instance,
    AIPROXY_REFUND_SIGNER_KEY: stack.refundSigner.privateKey,
    AIPROXY_OPERATOR_KEY: settlerKey,
  });
  return children[instance]!;
};

test.before(async () => {
  stack = await startNearStack({ userFunds: 1_000_000n });
  settler = await newAccount(stack.world.root, "settler", 10n * NEAR);
  settlerKey = (await settler.getKey())!.toString();
  rpc = new JsonRpcProvider({ url: stack.rpcUrl });
  server = await startNatsServer();
  mock = await startMockUpstream({ reply: "paid for by the conversation" });
  writeFileSync(
    configFile,
    stringify({
      port: 0,
      log_level: "info",
      chain: { type: "near", rpc_url: stack.rpcUrl, contract_id: stack.token.accountId },
      store: { type: "jetstream", bucket: BUCKET },
      nats: { servers: [server.url], transport: false },
      settle: {
        operator_account_id: settler.accountId,
        idle_after: "2s",
        interval: "300ms",
        lease_ttl: "4s",
      },
      metering: { refund_wait_ms: 5000 },
      retry: { max_retries: 0, timeout_ms: 10_000 },
      providers: [{ name: "mock", type: "openai-compatible", base_url: mock.url }],
      models: [{ id: "mock-model", input_price: "1000000", output_price: "2000000", providers: ["mock"] }],
    }),
  );
  await Promise.all([start("proxy-a"), start("proxy-b")]);
  nc = await connect({ servers: server.url });
  kv = await nc.jetstream().views.kv(BUCKET);
});

test.after.always(async () => {
  for (const c of Object.values(children)) await c.kill().catch(() => {});
  await nc?.close().catch(() => {});
  await server?.stop();
  await mock?.close();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function nonce(): Promise<bigint> {
  const publicKey = (await settler.getKey())!.getPublicKey().toString();
  const ak = await rpc.viewAccessKey({
    accountId: settler.accountId,
    publicKey,
    finalityQuery: { finality: "final" },
  });
  return BigInt(ak.nonce);
}

const view = (id: string) => stack.conversation(id) as Promise<ConversationView | null>;

/** Opens `n` conversations and uses each through one of the two proxies (alternating). */
async function used(n: number): Promise<{ conv: NearConversation; spent: bigint }[]> {
  const out = [];
  const urls = [children["proxy-a"]!.url, children["proxy-b"]!.url];
  for (let i = 0; i < n; i++) {
    const conv = await stack.open(3000n + BigInt(i));
    const url = urls[i % 2]!;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: conv.secret, maxRetries: 0 });
    await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: `hi ${i}` }],
    });
    const current = await fetch(`${url}/v1/conversations/current`, {
      headers: { authorization: `Bearer ${conv.secret}` },
    });
    out.push({ conv, spent: BigInt(((await current.json()) as { spent: string }).spent) });
  }
  return out;
}

async function allRefunded(ids: string[], ms = 90_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const views = await Promise.all(ids.map(view));
    if (views.every((v) => v?.status === "refunded")) return;
    if (Date.now() - started > ms)
      throw new Error(`not all refunded after ${ms} ms: ${views.map((v) => v?.status).join(", ")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function exactlyOnce(
  t: import("ava").ExecutionContext,
  convs: { conv: NearConversation; spent: bigint }[],
  before: { nonce: bigint; alice: bigint; operator: bigint },
) {
  const spent = convs.reduce((s, c) => s + c.spent, 0n);
  for (const { conv, spent: s } of convs)
    t.like(await view(conv.id), { status: "refunded", refund_amount: (conv.deposit - s).toString() });
  t.is((await nonce()) - before.nonce, BigInt(convs.length), "one operator transaction per conversation");
  t.is(await stack.balanceOf(stack.world.alice), before.alice - spent, "opener: before - spent");
  t.is(await stack.balanceOf(stack.world.owner), before.operator + spent, "operator: before + spent");
}

async function balances() {
  return {
    nonce: await nonce(),
    alice: await stack.balanceOf(stack.world.alice),
    operator: await stack.balanceOf(stack.world.owner), // get_config.operator_id: the owner
  };
}

test.serial("two proxies on one JetStream ledger settle each idle conversation exactly once", async (t) => {
  const before = await balances();
  const convs = await used(6);
  await allRefunded(convs.map((c) => c.conv.id));
  await new Promise((r) => setTimeout(r, 1500)); // more passes on both: nothing more is sent
  await exactlyOnce(t, convs, before);
  const leaders = Object.entries(children).filter(([, c]) =>
    c.output().includes('"msg":"settlement leader"'),
  );
  t.is(leaders.length, 1, "one process led");
});

test.serial(
  "kill -9 of the leader in the middle of a settlement, then restart: still exactly once",
  async (t) => {
    const before = await balances();
    // Who leads: the pid in the @settlement lease (renewed by the same process all along).
    let victim: string | undefined;
    const keys: string[] = [];
    for await (const key of await kv.keys()) if (key.startsWith("i.")) keys.push(key);
    for (const key of keys) {
      const lease = (await kv.get(key))?.json<{ id: string; pid: number }>();
      if (lease?.id === "@settlement")
        victim = Object.entries(children).find(([, c]) => c.child.pid === lease.pid)?.[0];
    }
    t.truthy(victim, "found the leader");
    // Kill it the moment it stores its first signed transaction: between signing and recording.
    const watcher = await kv.watch({ key: ">", include: KvWatchInclude.UpdatesOnly });
    const convs = await used(8);
    for await (const e of watcher) {
      if (e.operation === "PUT" && new TextDecoder().decode(e.value).includes('"state":"submitted"')) {
        children[victim!]!.child.kill("SIGKILL");
        break;
      }
    }
    watcher.stop();
    await children[victim!]!.kill("SIGKILL");
    const midway = await Promise.all(convs.map((c) => view(c.conv.id)));
    // What the dead leader left: payouts with a stored transaction and no recorded outcome.
    let inFlight = 0;
    const records: string[] = [];
    for await (const key of await kv.keys()) if (key.startsWith("c.")) records.push(key);
    for (const key of records)
      if ((await kv.get(key))?.json<{ payout?: { state: string } }>().payout?.state === "submitted")
        inFlight++;
    t.log(`left in flight by the dead leader: ${inFlight} submitted payout(s) not recorded`);
    t.log(
      `killed ${victim} with ${midway.filter((v) => v?.status === "refunded").length}/8 refunded on chain`,
    );
    t.true(
      midway.some((v) => v?.status !== "refunded"),
      "killed mid-pass: conversations were left to settle",
    );
    await start(victim!);
    await allRefunded(convs.map((c) => c.conv.id));
    await new Promise((r) => setTimeout(r, 1500));
    await exactlyOnce(t, convs, before);
  },
);
