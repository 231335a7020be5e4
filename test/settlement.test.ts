// Operator settlement on the in-memory chain: the worker's rules and its crash and failure paths,
// fast. The same worker against localnet and JetStream is in settlement-chain / settlement-scale.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { type ExecutionContext } from "ava";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { MemoryChainClient } from "#internal/proxy/chain/memory";
import { MemoryOperatorChain } from "#internal/proxy/settlement/memory-operator";
import type { OperatorChain, PassReport, PreparedTx, TxOutcome } from "#internal/proxy/settlement/types";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { balance, startTestProxy, type TestProxy } from "./helpers/proxy.js";

const TOKEN = "operator-token-0123456789abcdef0123";
const HOUR = 3_600_000;
const MINUTE = 60_000;

let mock: MockUpstream;
test.before(async () => {
  mock = await startMockUpstream({ reply: "settled soon" });
});
test.after.always(async () => {
  await mock?.close();
});

type Fault = "lose-answer" | "hang-after" | "hang-before" | "gas" | "rejected" | "unavailable";

/** The memory chain's operator with faults to inject, one per send. */
class FlakyOperator implements OperatorChain {
  readonly faults: Fault[] = [];
  readonly sent: string[] = [];
  readonly gas: number[] = [];
  chainDown = false;
  constructor(readonly inner: MemoryOperatorChain) {}
  get accountId() {
    return this.inner.accountId;
  }
  async chainTime() {
    if (this.chainDown) throw new Error("connect ECONNREFUSED");
    return this.inner.chainTime();
  }
  prepareRefund(refund: Parameters<OperatorChain["prepareRefund"]>[0], gasTgas: number) {
    this.gas.push(gasTgas);
    return this.inner.prepareRefund(refund, gasTgas);
  }
  async send(tx: PreparedTx): Promise<TxOutcome> {
    this.sent.push(tx.hash);
    const fault = this.faults.shift();
    if (fault === "hang-before") return new Promise(() => {});
    if (fault === "gas") return { kind: "gas", message: "refund_unspent ran out of gas (GasExceeded)" };
    if (fault === "rejected") return { kind: "rejected", message: "InvalidNonce" };
    if (fault === "unavailable") return { kind: "unavailable", message: "fetch failed" };
    const outcome = await this.inner.send(tx);
    if (fault === "hang-after") return new Promise(() => {});
    if (fault === "lose-answer") return { kind: "unavailable", message: "socket hang up" };
    return outcome;
  }
  status(tx: PreparedTx) {
    return this.inner.status(tx);
  }
}

/** The chain both proxies of a test see: escrows and the transactions that ran. */
interface World {
  chain: MemoryChainClient;
  inner: MemoryOperatorChain;
  chainOffsetMs: { value: number };
}

function world(): World {
  const chain = new MemoryChainClient();
  const chainOffsetMs = { value: 0 };
  const inner = new MemoryOperatorChain(chain, {
    accountId: "operator.test.near",
    chainTime: () => BigInt(Date.now() + chainOffsetMs.value) * 1_000_000n,
  });
  return { chain, inner, chainOffsetMs };
}

/** A JSON answer, read loosely (the assertions check its shape). */
// biome-ignore lint/suspicious/noExplicitAny: test-side JSON access
type Json = Record<string, any>;

interface Rig {
  tp: TestProxy;
  operator: FlakyOperator;
  clock: { offset: number };
  settle(dryRun?: boolean): Promise<PassReport>;
  operatorGet(path: string): Promise<Json>;
  chat(secret: string): Promise<void>;
}

async function rig(
  t: ExecutionContext,
  w: World,
  options: { storePath?: string; settle?: Record<string, unknown>; instanceId?: string } = {},
): Promise<Rig> {
  const clock = { offset: 0 };
  const operator = new FlakyOperator(w.inner);
  const tp = await startTestProxy(
    mock.url,
    {
      store: { path: options.storePath ?? ":memory:" },
      settle: {
        operator_account_id: "operator.test.near",
        idle_after: "1h",
        before_expiry: "10m",
        interval: "1h", // passes on demand (POST /v1/operator/settle) after the one at start
        retry_initial: "1m",
        retry_max: "10m",
        lease_ttl: "2s",
        ...options.settle,
      },
      metering: { refund_wait_ms: 2000 },
      ...(options.instanceId ? { instance_id: options.instanceId } : {}),
    },
    { AIPROXY_OPERATOR_TOKEN: TOKEN },
    { chain: w.chain, settlement: { now: () => Date.now() + clock.offset, operator } },
  );
  t.teardown(() => tp.stop());
  const auth = { authorization: `Bearer ${TOKEN}` };
  return {
    tp,
    operator,
    clock,
    async settle(dryRun = false) {
      const res = await tp.fetch(`/v1/operator/settle${dryRun ? "?dry_run=true" : ""}`, {
        method: "POST",
        headers: auth,
      });
      if (res.status !== 200) throw new Error(`settle answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as PassReport;
    },
    async operatorGet(path) {
      return (await (await tp.fetch(path, { headers: auth })).json()) as Json;
    },
    async chat(secret) {
      await tp.client(secret).chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 50,
      });
    },
  };
}

const view = (w: World, secret: string) => w.chain.conversations.get(conversationIdFromSecret(secret))!;

test("an idle conversation is settled on chain: the opener gets deposit - spent, the ledger records it", async (t) => {
  const w = world();
  const r = await rig(t, w);
  const secret = r.tp.open(5000n);
  await r.chat(secret);
  const spent = BigInt((await balance(r.tp, secret)).spent);
  t.true(spent > 0n);

  const before = (await r.tp.fetch("/v1/conversations/current", { secret }).then((x) => x.json())) as Record<
    string,
    string
  >;
  t.is(before["settle_reason"], "idle");
  const detail = await r.operatorGet(`/v1/operator/conversations/${conversationIdFromSecret(secret)}`);
  t.is(
    BigInt(before["settle_at"]!),
    BigInt(detail["active_at"] + HOUR) * 1_000_000n,
    "settle_at = last use + idle_after",
  );

  r.clock.offset = HOUR - MINUTE;
  t.is((await r.settle()).entries.length, 0, "not idle long enough yet");
  t.is(view(w, secret).status, "open");

  r.clock.offset = HOUR + MINUTE;
  const report = await r.settle();
  t.like(report.entries[0], {
    conversation_id: conversationIdFromSecret(secret),
    action: "settled",
    reason: "idle",
    refund_amount: (5000n - spent).toString(),
    operator_amount: spent.toString(),
  });
  t.like(view(w, secret), { status: "refunded", refund_amount: (5000n - spent).toString() });
  t.is(w.inner.refunds, 1);

  // Closed for good, recorded, and the next passes leave it alone.
  t.is(
    await r.tp
      .client(secret)
      .chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e.status),
    403,
  );
  const after = (await r.tp.fetch("/v1/conversations/current", { secret }).then((x) => x.json())) as Json;
  t.like(after["settlement"], { status: "settled", refund_amount: (5000n - spent).toString() });
  t.is(after["settle_at"], undefined);
  t.is((await r.settle()).unsettled, 0);
  t.is(r.operator.sent.length, 1, "one transaction sent in all");
  const summary = await r.operatorGet("/v1/operator/summary");
  t.like(summary["this_process"], {
    conversations: { settled: 1, refunded: 0, reclaimed: 0, skipped: 0 },
    operator_amount: spent.toString(),
    refund_amount: (5000n - spent).toString(),
  });
  const metrics = await (await r.tp.fetch("/metrics")).text();
  t.regex(metrics, /aiproxy_settlement_conversations_total\{outcome="settled"\} 1/);
  t.regex(metrics, new RegExp(`aiproxy_settlement_operator_token_units_total ${spent}`));
});

test("near expiry a conversation is settled whatever its activity; below min_spent it is closed and left to its opener", async (t) => {
  const w = world();
  const r = await rig(t, w);
  const lifetime = 2n * 3_600_000_000_000n; // 2 h, in ns
  const used = r.tp.open(4000n, "alice.test.near", lifetime);
  const unused = r.tp.open(3000n, "bob.test.near", lifetime);
  await r.chat(used);
  await balance(r.tp, unused); // in the ledger, never spent
  t.is((await r.settle()).entries.length, 0);

  w.chainOffsetMs.value = 2 * HOUR - 5 * MINUTE; // chain time: inside before_expiry (10 min)
  const report = await r.settle();
  const byId = Object.fromEntries(report.entries.map((e) => [e.conversation_id, e]));
  t.like(byId[conversationIdFromSecret(used)], { action: "settled", reason: "expiry" });
  t.like(byId[conversationIdFromSecret(unused)], { action: "skipped" });
  t.is(view(w, used).status, "refunded");
  t.is(view(w, unused).status, "open", "skipped: no transaction for a conversation that spent nothing");
  t.is((await balance(r.tp, unused)).status, "closed", "and it serves nothing more");
  t.is(w.inner.refunds, 1);
});

test("a conversation its opener refunded or reclaimed is left alone and recorded as such", async (t) => {
  const w = world();
  const r = await rig(t, w);
  const refunded = r.tp.open(5000n);
  const reclaimed = r.tp.open(6000n);
  await r.chat(refunded);
  await r.chat(reclaimed);
  const spentReclaimed = BigInt((await balance(r.tp, reclaimed)).spent);

  // The opener of one ends it through the proxy and submits the signed refund themselves.
  const signed = (await (
    await r.tp.fetch("/v1/conversations/refund", { method: "POST", secret: refunded })
  ).json()) as {
    refund_message: string;
  };
  const back = BigInt(JSON.parse(signed.refund_message).refund_amount);
  w.chain.markRefunded(conversationIdFromSecret(refunded), back);
  // The other expires and its opener reclaims the whole deposit.
  const id = conversationIdFromSecret(reclaimed);
  w.chain.conversations.set(id, {
    ...w.chain.conversations.get(id)!,
    status: "reclaimed",
    refund_amount: "6000",
  });

  r.clock.offset = 2 * HOUR;
  const report = await r.settle();
  const byId = Object.fromEntries(report.entries.map((e) => [e.conversation_id, e]));
  t.like(byId[conversationIdFromSecret(refunded)], { action: "refunded", refund_amount: back.toString() });
  t.like(byId[id], { action: "reclaimed", refund_amount: "6000", operator_amount: "0" });
  t.is(r.operator.sent.length, 0, "nothing submitted for either");
  t.is((await r.settle()).unsettled, 0, "and never retried");
  const summary = await r.operatorGet("/v1/operator/summary");
  t.like(summary["this_process"], {
    conversations: { settled: 0, refunded: 1, reclaimed: 1 },
    lost_amount: spentReclaimed.toString(),
  });
  t.regex(
    await (await r.tp.fetch("/metrics")).text(),
    new RegExp(`aiproxy_settlement_lost_token_units_total ${spentReclaimed}`),
  );
});

test("gas, nonce and RPC failures back off and retry; an answer lost after the chain ran it is not sent twice", async (t) => {
  const w = world();
  const r = await rig(t, w);
  const secret = r.tp.open(5000n);
  await r.chat(secret);
  r.clock.offset = 2 * HOUR;

  r.operator.faults.push("gas");
  let entry = (await r.settle()).entries[0]!;
  t.like(entry, { action: "retry" });
  t.regex(entry.error!, /^gas:/);
  t.is((await r.settle()).entries.length, 0, "backing off: not tried again at once");

  r.clock.offset += 10 * MINUTE;
  r.operator.faults.push("rejected");
  t.regex((await r.settle()).entries[0]!.error!, /^rejected:/);
  t.deepEqual(r.operator.gas, [50, 100], "the gas doubled after the gas failure");

  r.clock.offset += 10 * MINUTE;
  r.operator.faults.push("lose-answer"); // the chain ran it, the answer never came back
  t.regex((await r.settle()).entries[0]!.error!, /^rpc:/);
  t.is(w.inner.refunds, 1);
  t.is(view(w, secret).status, "refunded");

  r.clock.offset += 10 * MINUTE;
  entry = (await r.settle()).entries[0]!;
  t.like(entry, { action: "settled" });
  t.is(r.operator.sent.length, 3, "the stored transaction was found by hash, not sent again");
  t.is(w.inner.executed.size, 1, "only the refund ran (the injected failures never reached the chain)");
  t.like(await r.operatorGet("/v1/operator/summary").then((s) => s["this_process"]["failures"]), {
    gas: 1,
    rejected: 1,
    rpc: 1,
  });
});

test("an RPC outage stops the pass and leaves the ledger untouched; the next pass settles", async (t) => {
  const w = world();
  const r = await rig(t, w);
  const secret = r.tp.open(5000n);
  await r.chat(secret);
  r.clock.offset = 2 * HOUR;
  r.operator.chainDown = true;
  const down = await r.settle();
  t.regex(down.stopped ?? "", /did not answer/);
  t.is(down.entries.length, 0);
  r.operator.chainDown = false;
  r.operator.faults.push("unavailable", "unavailable");
  t.regex((await r.settle()).entries[0]!.error!, /^rpc:/);
  r.clock.offset += 10 * MINUTE;
  t.regex((await r.settle()).entries[0]!.error!, /^rpc:/);
  r.clock.offset += 20 * MINUTE;
  t.like((await r.settle()).entries[0], { action: "settled" });
  t.is(new Set(r.operator.sent).size, 1, "every retry re-sent the same signed bytes");
  t.is(w.inner.refunds, 1);
});

test("a dry run says what it would settle and changes nothing", async (t) => {
  const w = world();
  const r = await rig(t, w);
  const secret = r.tp.open(5000n);
  await r.chat(secret);
  const spent = (await balance(r.tp, secret)).spent;
  r.clock.offset = 2 * HOUR;
  const dry = await r.settle(true);
  t.like(dry, { dry_run: true, due: 1 });
  t.like(dry.entries[0], { action: "would_settle", reason: "idle", operator_amount: spent });
  t.is(r.operator.sent.length, 0);
  t.is((await balance(r.tp, secret)).status, "open");
  t.is(view(w, secret).status, "open");
});

for (const crash of ["hang-before", "hang-after"] as const) {
  test(`a leader that dies with its transaction ${crash === "hang-before" ? "not yet sent" : "sent"}: the next leader settles it exactly once`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "aiproxy-settle-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const storePath = join(dir, "ledger.sqlite");
    const w = world();
    const a = await rig(t, w, { storePath });
    const secret = a.tp.open(5000n);
    await a.chat(secret);
    a.clock.offset = 2 * HOUR;
    a.operator.faults.push(crash);
    void a.settle().catch(() => {}); // never answers: the leader "dies" mid-settlement
    const id = conversationIdFromSecret(secret);
    for (let i = 0; i < 200 && a.operator.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    t.is(a.operator.sent.length, 1);
    await a.tp.stop(); // its pass stays stuck: only the ledger and the chain remain

    const b = await rig(t, w, { storePath });
    b.clock.offset = 2 * HOUR;
    await b.settle(); // (or its pass at startup did it already)
    const detail = await b.operatorGet(`/v1/operator/conversations/${id}`);
    t.like(detail["payout"], { state: "settled", tx_hash: a.operator.sent[0] });
    t.is(view(w, secret).status, "refunded");
    t.is(w.inner.refunds, 1, "one refund on chain");
    t.is(w.inner.executed.size, 1, "one transaction ran: the one the dead leader stored");
    t.deepEqual(
      b.operator.sent,
      crash === "hang-before" ? a.operator.sent : [],
      "re-sent as is, or found by hash",
    );
  });
}

test("the operator API: off without a token, and a conversation secret is not an operator token", async (t) => {
  const w = world();
  const r = await rig(t, w);
  const secret = r.tp.open(5000n);
  for (const [path, method] of [
    ["/v1/operator/summary", "GET"],
    ["/v1/operator/settle", "POST"],
  ] as const) {
    t.is((await r.tp.fetch(path, { method })).status, 401);
    const withSecret = await r.tp.fetch(path, { method, secret });
    t.is(withSecret.status, 401);
    t.is(((await withSecret.json()) as { error: { code: string } }).error.code, "invalid_operator_token");
    t.is((await r.tp.fetch(path, { method, headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
  }
  const off = await startTestProxy(mock.url, { settle: { operator_account_id: "operator.test.near" } });
  t.teardown(() => off.stop());
  const res = await off.fetch("/v1/operator/summary", { headers: { authorization: `Bearer ${TOKEN}` } });
  t.is(res.status, 404);
  t.is(((await res.json()) as { error: { code: string } }).error.code, "operator_api_disabled");
});

test("two proxies on one SQLite file: one leads, the other refuses to run a pass, each conversation settles once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "aiproxy-settle-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const storePath = join(dir, "ledger.sqlite");
  const w = world();
  const a = await rig(t, w, { storePath, instanceId: "proxy-a" });
  const b = await rig(t, w, { storePath, instanceId: "proxy-b" });
  const secrets = [a.tp.open(5000n), a.tp.open(6000n)];
  await a.chat(secrets[0]!);
  await b.chat(secrets[1]!);
  for (const r of [a, b]) r.clock.offset = 2 * HOUR;
  const answers = await Promise.all(
    [a, b].map((r) =>
      r.tp.fetch("/v1/operator/settle", { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } }),
    ),
  );
  const statuses = answers.map((x) => x.status).sort();
  t.deepEqual(statuses, [200, 409], "the leader ran it, the other said who leads");
  const refused = (await answers.find((x) => x.status === 409)!.json()) as {
    error: { code: string; message: string };
  };
  t.is(refused.error.code, "not_settlement_leader");
  t.regex(refused.error.message, /another process leads settlement \(proxy-[ab], pid \d+ on /);
  t.is(w.inner.refunds, 2);
  for (const secret of secrets) t.is(view(w, secret).status, "refunded");
  t.is(a.operator.sent.length + b.operator.sent.length, 2, "one transaction per conversation");
});
