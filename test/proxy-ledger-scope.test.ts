// SECURITY.md T19 (one ledger, one contract) and T20 (replica identity), as attacks on a shared
// SQLite file and a shared JetStream bucket.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { connect } from "nats";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { JetStreamStore } from "#internal/proxy/store/jetstream";
import { startMockUpstream } from "./helpers/mock-upstream.js";
import { type NatsServer, startNatsServer } from "./helpers/nats-server.js";
import { balance, newSecret, startTestProxy, type TestProxy } from "./helpers/proxy.js";

const dir = mkdtempSync(join(tmpdir(), "aiproxy-scope-"));
let nats: NatsServer;
test.before(async () => {
  nats = await startNatsServer();
});
test.after.always(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("T19 a proxy of contract B cannot serve contract A's conversations from a shared SQLite file", async (t) => {
  const mock = await startMockUpstream({ reply: "served" });
  const path = join(dir, `shared-${++n}.sqlite`);
  const a = await startTestProxy(mock.url, { store: { path }, chain: { contract_id: "token-a.test.near" } });
  let b: TestProxy | undefined;
  try {
    const secret = a.open(10_000n);
    const first = await a.fetch("/v1/chat/completions", {
      method: "POST",
      secret,
      body: JSON.stringify({
        model: "mock-model",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 5,
      }),
    });
    t.is(first.status, 200);
    // The attacker runs a proxy for another contract (no escrow there) on the same ledger file.
    let refused: unknown;
    try {
      b = await startTestProxy(mock.url, { store: { path }, chain: { contract_id: "token-b.test.near" } });
    } catch (e) {
      refused = e;
    }
    if (b) {
      const res = await b.fetch("/v1/chat/completions", {
        method: "POST",
        secret,
        body: JSON.stringify({
          model: "mock-model",
          messages: [{ role: "user", content: "free?" }],
          max_tokens: 5,
        }),
      });
      t.is(res.status, 404, "contract B has no such escrow");
      t.is((await b.fetch("/v1/conversations/refund", { method: "POST", secret })).status, 404);
    } else {
      t.regex(String((refused as Error).message), /belongs to contract token-a\.test\.near/);
    }
    t.is(mock.requests.length, 1, "only contract A's request reached the upstream");
  } finally {
    await b?.stop();
    await a.stop();
    await mock.close();
  }
});

// Serial: it moves the working directory (where the default ledger lives) while it runs.
test.serial(
  "T19 the default ledger location is one per contract: two contracts' proxies started in one directory share nothing; a ledger at the old shared default stops the proxy",
  async (t) => {
    const mock = await startMockUpstream({ reply: "served" });
    const cwd = process.cwd();
    const here = mkdtempSync(join(dir, "cwd-"));
    process.chdir(here);
    const started: TestProxy[] = [];
    try {
      const start = async (contract: string) => {
        // No store.path: the default location.
        const p = await startTestProxy(mock.url, { store: {}, chain: { contract_id: contract } });
        started.push(p);
        return p;
      };
      const a = await start("token-a.test.near");
      const b = await start("token-b.test.near");
      const secret = a.open(10_000n);
      const ask = (p: TestProxy) =>
        p.fetch("/v1/chat/completions", {
          method: "POST",
          secret,
          body: JSON.stringify({
            model: "mock-model",
            messages: [{ role: "user", content: "hi" }],
            max_tokens: 5,
          }),
        });
      t.is((await ask(a)).status, 200);
      t.is((await ask(b)).status, 404, "contract B has no such escrow, and no ledger entry of A's");
      t.is(mock.requests.length, 1);
      t.true(existsSync(join(here, ".aiproxy", "token-a.test.near", "ledger.sqlite")));
      t.true(existsSync(join(here, ".aiproxy", "token-b.test.near", "ledger.sqlite")));
      for (const p of started.splice(0)) await p.stop();

      const old = mkdtempSync(join(dir, "cwd-"));
      process.chdir(old);
      mkdirSync(".aiproxy");
      writeFileSync(join(".aiproxy", "ledger.sqlite"), "");
      const err = await t.throwsAsync(start("token-a.test.near"));
      t.regex(String(err?.message), /found a ledger at the old default .*move it to .*token-a\.test\.near/);
    } finally {
      for (const p of started) await p.stop();
      process.chdir(cwd);
      await mock.close();
    }
  },
);

test("T19 a ledger bucket serves one contract: another contract's store sees none of its entries", async (t) => {
  const bucket = `scope_${++n}`;
  const open = async (contractId: string) =>
    JetStreamStore.open({
      nc: await connect({ servers: nats.url }),
      ownsConnection: true,
      bucket,
      contractId,
    });
  const a = await open("token-a.test.near");
  const cid = conversationIdFromSecret(newSecret());
  await a.ensureConversation({ conversation_id: cid, receiver_id: "alice.test.near", deposit: 1000n });
  t.true((await a.reserve({ conversation_id: cid, reservation_id: "r1", amount: 10n, owner: "p" })).ok);
  let b: JetStreamStore | undefined;
  try {
    b = await open("token-b.test.near");
  } catch (e) {
    t.regex(String((e as Error).message), /belongs to contract token-a\.test\.near/);
  }
  if (b) {
    t.is(await b.getConversation(cid), undefined, "B cannot read A's conversation");
    const r = await b.reserve({ conversation_id: cid, reservation_id: "r2", amount: 10n, owner: "p" });
    t.false(r.ok);
    t.is(await b.settle("r1", 0n), undefined, "B cannot settle A's reservation");
    await b.dispose();
  }
  t.is((await a.getConversation(cid))!.reserved, 10n);
  await a.dispose();
});

for (const kind of ["sqlite", "jetstream"] as const) {
  test(`T20 two replicas on one ${kind} ledger never share an identity: the second cannot settle the first's live reservation`, async (t) => {
    const mock = await startMockUpstream({ reply: "a b c d e f g h i j", chunkDelayMs: 60 });
    // The same (default) configuration twice: one ledger, one data dir.
    const config =
      kind === "sqlite"
        ? { store: { path: join(dir, `replicas-${++n}.sqlite`) } }
        : {
            store: { type: "jetstream" as const, bucket: `replicas_${++n}` },
            nats: { servers: [nats.url] },
            data_dir: join(dir, `replicas-data-${n}`),
          };
    const first = await startTestProxy(mock.url, config);
    let second: TestProxy | undefined;
    try {
      const secret = first.open(10_000n);
      const res = await first.fetch("/v1/chat/completions", {
        method: "POST",
        secret,
        body: JSON.stringify({
          model: "mock-model",
          messages: [{ role: "user", content: "hi" }],
          stream: true,
          max_tokens: 1000,
        }),
      });
      const reader = res.body!.getReader();
      await reader.read(); // the stream is in flight, its reservation open
      // A second replica starts on the same ledger with the same configuration.
      let refused: unknown;
      try {
        second = await startTestProxy(mock.url, config);
      } catch (e) {
        refused = e;
      }
      for (;;) if ((await reader.read()).done) break;
      for (let i = 0; i < 50 && (await balance(first, secret)).reserved !== "0"; i++) await sleep(20);
      const u = mock.billed.at(-1)!;
      const bill = BigInt(u.prompt_tokens) + 2n * BigInt(u.completion_tokens);
      t.is((await balance(first, secret)).spent, bill.toString(), "billed its usage, not its reservation");
      if (!second) t.regex(String((refused as Error).message), /instance .* is held by/);
      else t.not(second.proxy.context.instanceId, first.proxy.context.instanceId);
    } finally {
      await second?.stop();
      await first.stop();
      await mock.close();
    }
  });
}

test("T20 replica identity: drawn once per data dir and kept across restarts, another data dir another identity", async (t) => {
  const mock = await startMockUpstream();
  const data = mkdtempSync(join(dir, "data-"));
  const path = join(data, "ledger.sqlite");
  try {
    const one = await startTestProxy(mock.url, { store: { path } });
    const id = one.proxy.context.instanceId;
    t.regex(id, /^proxy-[0-9a-f]{8}$/);
    await one.stop();
    const again = await startTestProxy(mock.url, { store: { path } });
    t.is(again.proxy.context.instanceId, id, "a restart keeps its identity and so its reservations");
    await again.stop();
    const other = await startTestProxy(mock.url, {
      store: { path: join(data, "other.sqlite") },
      data_dir: join(dir, `d${++n}`),
    });
    t.not(other.proxy.context.instanceId, id, "another data dir, another identity");
    await other.stop();
  } finally {
    await mock.close();
  }
});
