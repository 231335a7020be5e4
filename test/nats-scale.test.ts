// Two proxy PROCESSES sharing one JetStream ledger: concurrent overspend (T08), a process killed
// mid-stream (T14), and a job whose worker is killed mid-job (redelivered, billed once).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { Wallet } from "ethers";
import { connect, type NatsConnection } from "nats";
import { stringify } from "yaml";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { natsChat } from "#internal/proxy/nats/client";
import { JetStreamStore } from "#internal/proxy/store/jetstream";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { type ChildProxy, type NatsServer, spawnProxy, startNatsServer } from "./helpers/nats-server.js";
import { billFor } from "./helpers/provider-billing.js";
import { newSecret, UPSTREAM_KEY } from "./helpers/proxy.js";

const dir = mkdtempSync(join(tmpdir(), "aiproxy-scale-"));
const configFile = join(dir, "proxy.yaml");
const signer = Wallet.createRandom();
const secrets = { t08: newSecret(), t14: newSecret(), job: newSecret() };
const deposits = { t08: 300n, t14: 10_000n, job: 10_000n };
let server: NatsServer;
let upstream: MockUpstream;
let nc: NatsConnection;
let store: JetStreamStore;
const children: Record<string, ChildProxy> = {};

const start = async (instance: string) => {
  children[instance] = await spawnProxy(configFile, {
    AIPROXY_INSTANCE_ID: instance,
    AIPROXY_REFUND_SIGNER_KEY: signer.privateKey,
    MOCK_UPSTREAM_KEY: UPSTREAM_KEY,
  });
  return children[instance]!;
};

test.before(async () => {
  server = await startNatsServer();
  upstream = await startMockUpstream({ reply: "one two three four five" });
  writeFileSync(
    configFile,
    stringify({
      port: 0,
      log_level: "warn",
      chain: {
        type: "memory",
        contract_id: "token.test.near",
        conversations: Object.entries(secrets).map(([k, secret]) => ({
          secret,
          amount: deposits[k as keyof typeof deposits].toString(),
        })),
      },
      store: { type: "jetstream" },
      nats: { servers: [server.url] },
      jobs: { enabled: true, ack_wait_ms: 1500 },
      metering: { refund_wait_ms: 3000 },
      retry: { max_retries: 0, timeout_ms: 10_000 },
      providers: [
        { name: "mock", type: "openai-compatible", base_url: upstream.url, api_key_env: "MOCK_UPSTREAM_KEY" },
      ],
      // The mock bills like an o200k provider; the reservation counts like one (OpenAI's overheads).
      models: [
        {
          id: "mock-model",
          tokenizer: "o200k_base",
          input_price: "1000000",
          output_price: "2000000",
          providers: ["mock"],
        },
      ],
    }),
  );
  await Promise.all([start("proxy-a"), start("proxy-b")]);
  nc = await connect({ servers: server.url });
  store = await JetStreamStore.open({
    nc,
    bucket: "aiproxy_ledger_token_test_near",
    contractId: "token.test.near",
  });
});

test.after.always(async () => {
  for (const c of Object.values(children)) await c.kill("SIGKILL").catch(() => {});
  await nc?.close().catch(() => {});
  await upstream?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ask = { model: "mock-model", messages: [{ role: "user", content: "hi" }], max_tokens: 20 };
/** What the mock bills for `ask` (its real token counts at the test prices). */
const BILL = billFor(ask, "one two three four five");
const post = (proxy: ChildProxy, path: string, secret: string, body: unknown = ask) =>
  fetch(`${proxy.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const ledger = async (secret: string) => {
  const cid = conversationIdFromSecret(secret);
  const state = (await store.getConversation(cid))!;
  const settlements = await store.settlements(cid);
  const open = await store.openReservations({ conversation_id: cid });
  return { state, settlements, open };
};

test.serial(
  "T08 concurrent overspend: two proxy processes on one JetStream ledger never spend beyond the balance",
  async (t) => {
    const a = children["proxy-a"]!;
    const b = children["proxy-b"]!;
    // Each request reserves about 50 units and costs about 20: the 300-unit conversation pays for a few.
    const http = Array.from({ length: 40 }, (_, i) =>
      post(i % 2 ? a : b, "/v1/chat/completions", secrets.t08),
    );
    const viaNats = Array.from({ length: 10 }, () => natsChat(nc, secrets.t08, ask));
    const [responses, natsReplies] = await Promise.all([Promise.all(http), Promise.all(viaNats)]);
    const statuses = [...responses.map((r) => r.status), ...natsReplies.map((r) => r.status)];
    await Promise.all(responses.map((r) => r.body?.cancel()));
    const ok = statuses.filter((s) => s === 200).length;
    t.true(
      statuses.every((s) => s === 200 || s === 402),
      `statuses ${statuses.join(",")}`,
    );
    t.true(ok >= 5, `only ${ok} requests were served`);
    const { state, settlements, open } = await ledger(secrets.t08);
    t.true(state.spent <= state.deposit);
    t.is(state.reserved, 0n);
    t.is(open.length, 0);
    t.is(state.spent, BigInt(ok) * BILL, "every served request billed once, nothing else");
    t.is(
      settlements.reduce((sum, s) => sum + s.charged, 0n),
      state.spent,
    );
    t.is(settlements.filter((s) => s.charged > 0n).length, ok);
  },
);

test.serial("T14 crash safety: killing one proxy process mid-stream loses no accounting", async (t) => {
  upstream.options.chunkDelayMs = 250;
  try {
    const a = children["proxy-a"]!;
    const b = children["proxy-b"]!;
    const res = await post(a, "/v1/chat/completions", secrets.t14, { ...ask, stream: true });
    t.is(res.status, 200);
    const reader = res.body!.getReader();
    await reader.read(); // the stream is running
    await a.kill("SIGKILL");
    await reader.cancel().catch(() => {});

    // The killed process's reservation is still in the shared ledger, with its owner.
    const during = await ledger(secrets.t14);
    t.is(during.open.length, 1);
    t.is(during.open[0]!.owner, "proxy-a");
    const held = during.open[0]!.amount;
    t.is(during.state.reserved, held);

    // The other process keeps serving the same conversation around the held reservation.
    upstream.options.chunkDelayMs = 0;
    const served = await post(b, "/v1/chat/completions", secrets.t14);
    t.is(served.status, 200);
    await served.json();

    // The killed instance restarts and bills its own stale reservation (the documented rule), once.
    await start("proxy-a");
    const after = await ledger(secrets.t14);
    t.is(after.open.length, 0);
    t.is(after.state.reserved, 0n);
    t.is(after.state.spent, held + BILL);
    t.deepEqual(after.settlements.map((s) => s.charged).sort(), [BILL, held].sort());

    // The refund from the OTHER process is deposit - spent, and stays the same when asked again.
    const refund = (await (await post(b, "/v1/conversations/refund", secrets.t14, {})).json()) as {
      refund_message: string;
    };
    t.is(JSON.parse(refund.refund_message).refund_amount, (deposits.t14 - held - BILL).toString());
    const again = (await (
      await post(children["proxy-a"]!, "/v1/conversations/refund", secrets.t14, {})
    ).json()) as {
      refund_message: string;
    };
    t.is(again.refund_message, refund.refund_message);
  } finally {
    upstream.options.chunkDelayMs = 0;
  }
});

test.serial("jobs: a job survives its worker being killed mid-job and is billed once", async (t) => {
  const kv = await nc.jetstream().views.kv("aiproxy_jobs");
  upstream.faults.push({ delayMs: 6000 }); // the first attempt hangs in the upstream
  const submitted = await post(children["proxy-b"]!, "/v1/jobs", secrets.job);
  t.is(submitted.status, 202);
  const { id } = (await submitted.json()) as { id: string };

  const record = async () => {
    const e = await kv.get(id);
    return e
      ? (JSON.parse(new TextDecoder().decode(e.value)) as { status: string; worker?: string })
      : undefined;
  };
  let running: { status: string; worker?: string } | undefined;
  for (let i = 0; i < 100; i++) {
    running = await record();
    if (running?.status === "running") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.is(running?.status, "running");
  const victim = running!.worker!;
  await children[victim]!.kill("SIGKILL");
  const survivor = victim === "proxy-a" ? children["proxy-b"]! : children["proxy-a"]!;

  let view: { status: string; attempts: number; billed: string | null } | undefined;
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${survivor.url}/v1/jobs/${id}`, {
      headers: { authorization: `Bearer ${secrets.job}` },
    });
    view = (await res.json()) as typeof view;
    if (view?.status === "succeeded" || view?.status === "failed") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is(view?.status, "succeeded");
  t.is(view?.attempts, 2, "redelivered once after the kill");
  t.is(view?.billed, BILL.toString());
  const { state, settlements, open } = await ledger(secrets.job);
  t.is(open.length, 0);
  t.deepEqual(
    settlements.map((s) => [s.reservation_id, s.charged]),
    [[id, BILL]],
  );
  t.is(state.spent, BILL);
  t.is(state.reserved, 0n);
  // Restart the killed worker: its startup recovery does not touch job reservations, nothing changes.
  await start(victim);
  t.is((await ledger(secrets.job)).state.spent, BILL);
});
