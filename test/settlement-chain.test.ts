// Operator settlement on localnet: the real token contract, the proxy's near-api-js operator account
// submitting refund_unspent, balances read back from the chain. Block time is moved with
// sandbox_fast_forward; the proxy's idle clock is injected.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import type { Wallet } from "ethers";
import { JsonRpcProvider } from "near-api-js";
import type { NearAccount } from "near-workspaces";
import OpenAI from "openai";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { parseConfig } from "#internal/proxy/config";
import { createLogger } from "#internal/proxy/logger";
import { type RunningProxy, startProxy } from "#internal/proxy/server";
import type { PassReport } from "#internal/proxy/settlement/types";
import type { ConversationView } from "#wire";
import { signRefund } from "#wire/crypto";
import { projectRoot } from "./helpers/localnet.js";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { newSecret } from "./helpers/proxy-process.js";
import {
  balanceOf,
  deployToken,
  NEAR,
  newAccount,
  openConversation,
  passTime,
  randomWallet,
  refundMessageFor,
  type TokenContext,
  transfer,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext & { world?: World }>;
useTokenWorker(test);

const TOKEN = "operator-token-0123456789abcdef0123";
const HOUR_MS = 3_600_000;

let mock: MockUpstream | undefined;
test.before(async () => {
  mock = await startMockUpstream({ reply: "an answer worth paying for", chunkDelayMs: 5 });
});
test.after.always(async () => {
  await mock?.close();
});

interface Stack {
  /** What a process sharing this proxy's ledger and accounts needs (npm run settle). */
  env: Record<string, string>;
  w: World;
  signer: Wallet;
  settler: NearAccount;
  proxy: RunningProxy;
  clock: { offset: number };
  rpc: JsonRpcProvider;
  logs: string[];
  open(amount: bigint, extra?: { expires_in_secs?: number }): Promise<{ secret: string; id: string }>;
  chat(secret: string, options?: { stream?: boolean; maxTokens?: number }): Promise<void>;
  spent(secret: string): Promise<bigint>;
  view(id: string): Promise<ConversationView>;
  /** Transactions the settler account has signed (its access key nonce). */
  nonce(): Promise<bigint>;
  settle(dryRun?: boolean): Promise<PassReport>;
  waitFor(id: string, status: string, ms?: number): Promise<number>;
}

async function stack(
  t: ExecutionContext<TokenContext & { world?: World }>,
  settle: Record<string, unknown> = {},
  storePath = ":memory:",
) {
  const w = await deployToken(t.context.root);
  t.context.world = w;
  const signer = randomWallet();
  await w.owner.call(w.token, "set_refund_signers", { signers: [signer.address] });
  await transfer(w, w.owner, w.alice, 100_000n);
  // The account that pays the gas; the spent part goes to the contract's operator (the owner here).
  const settler = await newAccount(t.context.root, "settler", 10n * NEAR);
  const key = (await settler.getKey())!.toString();
  const rpcUrl = (t.context.worker.provider as unknown as { connection: { url: string } }).connection.url;
  const clock = { offset: 0 };
  const logs: string[] = [];
  const config = parseConfig({
    port: 0,
    store: { path: storePath },
    chain: { type: "near", rpc_url: rpcUrl, contract_id: w.token.accountId },
    settle: { operator_account_id: settler.accountId, idle_after: "1h", before_expiry: "15m", ...settle },
    metering: { refund_wait_ms: 10_000 },
    providers: [{ name: "mock", type: "openai-compatible", base_url: mock!.url }],
    models: [{ id: "mock-model", input_price: "1000000", output_price: "2000000", providers: ["mock"] }],
  });
  const sink = new Writable({
    write(chunk, _e, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const proxy = await startProxy(config, {
    env: {
      ...process.env,
      AIPROXY_REFUND_SIGNER_KEY: signer.privateKey,
      AIPROXY_OPERATOR_KEY: key,
      AIPROXY_OPERATOR_TOKEN: TOKEN,
    },
    logger: createLogger("info", sink),
    settlement: { now: () => Date.now() + clock.offset },
  });
  t.teardown(() => proxy.stop(2000));
  const rpc = new JsonRpcProvider({ url: rpcUrl });
  const publicKey = (await settler.getKey())!.getPublicKey().toString();
  const s: Stack = {
    env: {
      AIPROXY_CHAIN: "near",
      AIPROXY_NEAR_RPC_URL: rpcUrl,
      AIPROXY_CONTRACT_ID: w.token.accountId,
      AIPROXY_STORE_PATH: storePath,
      AIPROXY_REFUND_SIGNER_KEY: signer.privateKey,
      AIPROXY_OPERATOR_ACCOUNT_ID: settler.accountId,
      AIPROXY_OPERATOR_KEY: key,
      ...(settle["idle_after"] ? { AIPROXY_SETTLE_IDLE_AFTER: String(settle["idle_after"]) } : {}),
    },
    w,
    signer,
    settler,
    proxy,
    clock,
    rpc,
    logs,
    async open(amount, extra = {}) {
      const secret = newSecret();
      const id = conversationIdFromSecret(secret);
      await openConversation(w, w.alice, amount, id, extra);
      return { secret, id };
    },
    async chat(secret, options = {}) {
      const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
      const body = {
        model: "mock-model",
        messages: [{ role: "user" as const, content: "tell me something" }],
        max_tokens: options.maxTokens ?? 60,
      };
      if (!options.stream) {
        await client.chat.completions.create(body);
        return;
      }
      const stream = await client.chat.completions.create({ ...body, stream: true });
      for await (const _ of stream);
    },
    async spent(secret) {
      const res = await fetch(`${proxy.url}/v1/conversations/current`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      return BigInt(((await res.json()) as { spent: string }).spent);
    },
    view: (id) => w.token.view<ConversationView>("view_ai_conversation", { conversation_id: id }),
    async nonce() {
      const ak = await rpc.viewAccessKey({
        accountId: settler.accountId,
        publicKey,
        finalityQuery: { finality: "final" },
      });
      return BigInt(ak.nonce);
    },
    async settle(dryRun = false) {
      const res = await fetch(`${proxy.url}/v1/operator/settle${dryRun ? "?dry_run=true" : ""}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      if (res.status !== 200) throw new Error(`settle: ${res.status} ${await res.text()}`);
      return (await res.json()) as PassReport;
    },
    async waitFor(id, status, ms = 30_000) {
      const started = Date.now();
      while ((await s.view(id)).status !== status) {
        if (Date.now() - started > ms) throw new Error(`${id} not ${status} after ${ms} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return Date.now() - started;
    },
  };
  return s;
}

test.serial(
  "a conversation used then left idle is settled on chain by the proxy within the configured time: balances exact",
  async (t) => {
    const s = await stack(t, { interval: "500ms" });
    const { w } = s;
    const aliceBefore = await balanceOf(w.token, w.alice);
    const operatorId = (await w.token.view<{ operator_id: string }>("get_config")).operator_id;
    const operatorBefore = await balanceOf(w.token, operatorId);
    const nonceBefore = await s.nonce();
    const { secret, id } = await s.open(5000n);
    await s.chat(secret);
    await s.chat(secret, { stream: true });
    const spent = await s.spent(secret);
    t.true(spent > 0n);

    // Idle for less than idle_after: several passes run, nothing is settled.
    s.clock.offset = HOUR_MS - 60_000;
    await new Promise((r) => setTimeout(r, 1500));
    t.is((await s.view(id)).status, "open");

    s.clock.offset = HOUR_MS + 1000;
    const took = await s.waitFor(id, "refunded", 20_000);
    t.log(`settled ${took} ms after the conversation became idle (settle.interval 500 ms)`);
    const view = await s.view(id);
    t.is(view.refund_amount, (5000n - spent).toString());
    t.is(await balanceOf(w.token, w.alice), aliceBefore - spent, "opener: before - spent, exactly");
    t.is(await balanceOf(w.token, operatorId), operatorBefore + spent, "operator: before + spent, exactly");
    t.is((await s.nonce()) - nonceBefore, 1n, "one transaction from the operator account");
    const current = (await (
      await fetch(`${s.proxy.url}/v1/conversations/current`, {
        headers: { authorization: `Bearer ${secret}` },
      })
    ).json()) as { settlement?: { status: string; tx_hash?: string } };
    t.is(current.settlement?.status, "settled");
    t.truthy(current.settlement?.tx_hash);
    await new Promise((r) => setTimeout(r, 1200)); // more passes: nothing more is sent
    t.is((await s.nonce()) - nonceBefore, 1n);
  },
);

test.serial(
  "near its expiry (block time, fast-forwarded) a conversation is settled whatever its activity",
  async (t) => {
    const s = await stack(t, { interval: "1h" });
    const { secret, id } = await s.open(4000n, { expires_in_secs: 3600 });
    await s.chat(secret);
    const spent = await s.spent(secret);
    t.is((await s.settle()).entries.length, 0, "an hour left: not due");
    await passTime(t.context.worker, 3600 - 10 * 60); // 10 min left < before_expiry (15 min)
    const report = await s.settle();
    t.like(report.entries[0], { conversation_id: id, action: "settled", reason: "expiry" });
    t.like(await s.view(id), { status: "refunded", refund_amount: (4000n - spent).toString() });
  },
);

test.serial(
  "a conversation its opener refunded or reclaimed is left alone and recorded as such",
  async (t) => {
    const s = await stack(t, { interval: "1h" });
    const { w } = s;
    const a = await s.open(5000n);
    const b = await s.open(3000n, { expires_in_secs: 3600 });
    await s.chat(a.secret);
    await s.chat(b.secret);
    const spentB = await s.spent(b.secret);
    // a: the opener ends it through the proxy and submits the refund themselves.
    const signed = await (
      await fetch(`${s.proxy.url}/v1/conversations/refund`, {
        method: "POST",
        headers: { authorization: `Bearer ${a.secret}` },
      })
    ).json();
    t.true((await w.alice.callRaw(w.token, "refund_unspent", signed)).succeeded);
    // b: expires and its opener reclaims all of it (the operator loses what it served).
    await passTime(t.context.worker, 3700);
    t.true(
      (await w.alice.callRaw(w.token, "reclaim_expired_conversation", { conversation_id: b.id })).succeeded,
    );

    const nonceBefore = await s.nonce();
    s.clock.offset = 2 * HOUR_MS;
    const report = await s.settle();
    const byId = Object.fromEntries(report.entries.map((e) => [e.conversation_id, e]));
    t.like(byId[a.id], { action: "refunded" });
    t.like(byId[b.id], { action: "reclaimed", refund_amount: "3000", operator_amount: "0" });
    t.is(await s.nonce(), nonceBefore, "nothing submitted");
    t.is((await s.settle()).unsettled, 0, "and not retried");
    const summary = (await (
      await fetch(`${s.proxy.url}/v1/operator/summary`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { this_process: { lost_amount: string; conversations: Record<string, number> } };
    t.is(summary.this_process.lost_amount, spentB.toString(), "lost revenue = what was spent on b");
    t.like(summary.this_process.conversations, { refunded: 1, reclaimed: 1, settled: 0 });
  },
);

test.serial(
  "T24 a settlement pays the operator exactly the ledger's spent, and no user request can trigger one",
  async (t) => {
    // Real time here (no injected clock): the ledger's idle clock is what a user's request moves.
    const s = await stack(t, { interval: "1h", idle_after: "2s" });
    const { w } = s;
    const operatorId = (await w.token.view<{ operator_id: string }>("get_config")).operator_id;
    const idle = () => new Promise((r) => setTimeout(r, 2500));

    // 1. A stream is in flight when its expiry brings the settlement: the pass closes the
    //    conversation, waits for the stream's real usage, and only then signs and submits.
    const streaming = await s.open(6000n, { expires_in_secs: 3600 });
    await s.chat(streaming.secret);
    await passTime(t.context.worker, 3600 - 10 * 60);
    mock!.options.chunkDelayMs = 150;
    const inFlight = s.chat(streaming.secret, { stream: true, maxTokens: 2000 });
    await new Promise((r) => setTimeout(r, 400));
    const operatorBefore = await balanceOf(w.token, operatorId);
    const report = await s.settle();
    await inFlight;
    mock!.options.chunkDelayMs = 5;
    const spent = await s.spent(streaming.secret);
    t.like(report.entries[0], { conversation_id: streaming.id, action: "settled" });
    t.is(
      (await balanceOf(w.token, operatorId)) - operatorBefore,
      spent,
      "the operator got exactly the ledger's spent: not the stream's reservation, not less than its usage",
    );
    t.is((await s.view(streaming.id)).refund_amount, (6000n - spent).toString());

    // 2. A signed refund in the ledger that would pay the operator more than the ledger's spent (a
    //    rewritten or restored ledger) is never submitted.
    const forged = await s.open(5000n);
    await s.chat(forged.secret);
    const store = s.proxy.context.store;
    const msg = await refundMessageFor(w, forged.id, 0n); // "everything to the operator"
    await store.saveRefund(forged.id, await signRefund(msg, s.signer));
    await store.closeConversation(forged.id);
    await idle();
    const refused = (await s.settle()).entries.find((e) => e.conversation_id === forged.id);
    t.like(refused, { action: "retry" });
    t.regex(
      refused?.error ?? "",
      /^mismatch: the refund pays the operator 5000, more than the ledger's spent/,
    );
    t.is((await s.view(forged.id)).status, "open", "nothing was submitted");

    // 3. Users cannot start a settlement: not with their secret on the operator routes, and asking
    //    for their refund makes the worker wait idle_after again (they submit it themselves).
    const user = await s.open(5000n);
    await s.chat(user.secret);
    for (const [path, method] of [
      ["/v1/operator/settle", "POST"],
      ["/v1/operator/summary", "GET"],
    ])
      t.is(
        (
          await fetch(`${s.proxy.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${user.secret}` },
          })
        ).status,
        401,
      );
    await idle(); // idle: the next pass would settle it...
    await fetch(`${s.proxy.url}/v1/conversations/refund`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.secret}` },
    });
    const nonceBefore = await s.nonce();
    const after = await s.settle(); // ...but the user just asked for their refund
    t.falsy(
      after.entries.find((e) => e.conversation_id === user.id),
      "the user's request did not make it due",
    );
    t.is(await s.nonce(), nonceBefore);
    t.is((await s.view(user.id)).status, "open");
    const view = (await (
      await fetch(`${s.proxy.url}/v1/conversations/current`, {
        headers: { authorization: `Bearer ${user.secret}` },
      })
    ).json()) as { settle_at: string };
    t.true(BigInt(view.settle_at) > BigInt(Date.now()) * 1_000_000n, "due idle_after after the request");
    // ...and once it is due, the worker submits the message the user was given.
    await idle();
    t.like(
      (await s.settle()).entries.find((e) => e.conversation_id === user.id),
      { action: "settled" },
    );
    t.is((await s.view(user.id)).status, "refunded");
  },
);

async function settleCli(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "scripts/settle.ts", ...args],
      { cwd: projectRoot, env: { ...process.env, ...env }, timeout: 120_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

test.serial(
  "npm run settle: a dry run says what is due, a pass settles it on chain; beside a settling proxy it refuses and says why",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "aiproxy-settle-cli-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    // Cron mode: the proxy serves and meters, passes come from the command line.
    const s = await stack(t, { enabled: false, idle_after: "2s" }, join(dir, "ledger.sqlite"));
    const { secret, id } = await s.open(5000n);
    await s.chat(secret);
    const spent = await s.spent(secret);
    await new Promise((r) => setTimeout(r, 2500));

    const dry = await settleCli(s.env, "--dry-run");
    t.is(dry.code, 0, dry.stderr);
    t.regex(
      dry.stdout,
      new RegExp(
        `would settle\\s+${id.slice(0, 12)}\\s+idle\\s+${5000n - spent} back to the opener, ${spent} to the operator`,
      ),
    );
    t.is((await s.view(id)).status, "open", "a dry run changes nothing");

    const nonce = await s.nonce();
    const pass = await settleCli(s.env);
    t.is(pass.code, 0, pass.stderr);
    t.log(pass.stdout);
    t.regex(
      pass.stdout,
      new RegExp(
        `settled\\s+${id.slice(0, 12)}\\s+idle\\s+${5000n - spent} back to the opener, ${spent} to the operator\\s+tx \\w+`,
      ),
    );
    t.regex(pass.stdout, /Done in [\d.]+ s: 1 settled/);
    t.like(await s.view(id), { status: "refunded", refund_amount: (5000n - spent).toString() });
    t.is((await s.nonce()) - nonce, 1n);
    const again = await settleCli(s.env);
    t.regex(again.stdout, /0 unsettled, 0 due/);

    // A proxy that settles holds the lease: the command line does not run a second leader.
    const leading = await stack(t, { interval: "1h" }, join(dir, "other.sqlite"));
    const refused = await settleCli(leading.env);
    t.is(refused.code, 1);
    t.regex(refused.stderr, /error: another process leads settlement \(proxy-\w+, pid \d+ on /);
    t.regex(refused.stderr, /next: .*--dry-run.*settle\.enabled: false/);
  },
);
