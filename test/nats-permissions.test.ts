// SECURITY.md T21: the scale-out bus is a trust boundary. nats-server runs the configuration this
// repository ships (proxy/nats/aiproxy.conf); a chat client's credential can send requests and read
// its own replies, and nothing else: not the queue group (other users' requests and secrets), not
// the JetStream API, not the ledger bucket.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { connect, type NatsConnection, nkeyAuthenticator } from "nats";
import { natsChat, natsRequest } from "#internal/proxy/nats/client";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { makeNkeyUser, type NatsServer, type NkeyUser, startNatsServer } from "./helpers/nats-server.js";
import { startTestProxy, type TestProxy } from "./helpers/proxy.js";

const root = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "aiproxy-natsperm-"));
let server: NatsServer;
let url: string;
let proxyUser: NkeyUser;
let clientUser: NkeyUser;
let tp: TestProxy;
let mock: MockUpstream;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  proxyUser = makeNkeyUser(dir, "proxy");
  clientUser = makeNkeyUser(dir, "client");
  server = await startNatsServer({
    configFile: join(root, "proxy/nats/aiproxy.conf"),
    env: { AIPROXY_PROXY_NKEY: proxyUser.publicKey, AIPROXY_CLIENT_NKEY: clientUser.publicKey },
  });
  url = server.url;
  mock = await startMockUpstream({ reply: "over the bus" });
  tp = await startTestProxy(mock.url, {
    mode: "production",
    store: { type: "jetstream" },
    nats: { servers: [url], nkey_seed_file: proxyUser.seedFile },
    jobs: { enabled: true },
  });
});

test.after.always(async () => {
  await tp?.stop();
  await mock?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const asClient = (seedFile: string, inboxPrefix = "_INBOX_client") =>
  connect({
    servers: url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seedFile, "utf8").trim())),
    inboxPrefix,
  });

const ask = { model: "mock-model", messages: [{ role: "user", content: "hi" }], max_tokens: 5 };

test.serial(
  "T21 a client credential can chat over the bus (requests out, its own replies back)",
  async (t) => {
    const nc = await asClient(clientUser.seedFile);
    try {
      const secret = tp.open(10_000n);
      const reply = await natsChat(nc, secret, ask);
      t.is(reply.status, 200);
      t.is(
        (reply.body as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content,
        "over the bus",
      );
    } finally {
      await nc.close();
    }
  },
);

test.serial(
  "T21 a client credential can neither join the queue group nor see another user's request and secret",
  async (t) => {
    const attacker = await asClient(clientUser.seedFile);
    const victim = await asClient(clientUser.seedFile);
    const seen: string[] = [];
    const errors: string[] = [];
    try {
      for (const queue of ["aiproxy", undefined]) {
        attacker.subscribe("aiproxy.chat.completions", {
          ...(queue ? { queue } : {}),
          callback: (err, msg) => {
            if (err) errors.push(err.message);
            else seen.push(msg.headers?.get("Authorization") ?? "(no header)");
          },
        });
      }
      attacker.subscribe("_INBOX.>", {
        callback: (err, msg) => (err ? errors.push(err.message) : seen.push(msg.subject)),
      });
      attacker.subscribe(">", {
        callback: (err, msg) => (err ? errors.push(err.message) : seen.push(msg.subject)),
      });
      await attacker.flush().catch(() => {});
      const secret = tp.open(10_000n);
      for (let i = 0; i < 5; i++)
        t.is((await natsChat(victim, secret, ask)).status, 200, "the victim is served");
      await sleep(300);
      t.deepEqual(seen, [], "the attacker received nothing: no request, no secret, no reply");
      t.true(
        errors.some((e) => /permission/i.test(e)),
        `the server refused the subscriptions: ${errors.join("; ")}`,
      );
    } finally {
      await attacker.close().catch(() => {});
      await victim.close();
    }
  },
);

/** A connection with the proxy's credential: the test's own view of the ledger and the job state. */
const asProxy = () =>
  connect({
    servers: url,
    authenticator: nkeyAuthenticator(
      new TextEncoder().encode(readFileSync(proxyUser.seedFile, "utf8").trim()),
    ),
  });

const LEDGER = "aiproxy_ledger_token_test_near";

test.serial(
  "T21 a client credential can neither read nor rewrite the ledger (spent -> 0, a forged refund)",
  async (t) => {
    const attacker = await asClient(clientUser.seedFile);
    const admin = await asProxy();
    const secret = tp.open(10_000n);
    try {
      t.is((await natsChat(attacker, secret, ask)).status, 200);
      const { conversationIdFromSecret } = await import("#internal/proxy/auth");
      const cid = conversationIdFromSecret(secret);
      const before = await tp.proxy.context.store.getConversation(cid);
      t.true(before!.spent > 0n);
      // What the attacker wants in the ledger: its own record with spent 0 (then a full refund).
      const ledger = await admin.jetstream().views.kv(LEDGER, { bindOnly: true });
      let key = "";
      for await (const k of await ledger.keys()) if (k.startsWith("c.") && k.endsWith(cid)) key = k;
      const entry = (await ledger.get(key))!;
      const forged = new TextEncoder().encode(
        JSON.stringify({ ...(entry.json() as Record<string, unknown>), spent: "0" }),
      );

      // Through the JetStream API (KV get/put, stream info, purge): not there for it.
      await t.throwsAsync(async () => {
        const kv = await attacker.jetstream().views.kv(LEDGER, { bindOnly: true });
        await kv.get(key);
      });
      await t.throwsAsync(async () => {
        const kv = await attacker.jetstream().views.kv(LEDGER, { bindOnly: true });
        await kv.put(key, forged);
      });
      await t.throwsAsync(attacker.request(`$JS.API.STREAM.INFO.KV_${LEDGER}`, undefined, { timeout: 1000 }));
      // Raw publishes into the ledger's subjects: refused too.
      attacker.publish(`$KV.${LEDGER}.${key}`, forged);
      attacker.publish(`$JS.API.STREAM.PURGE.KV_${LEDGER}`);
      await attacker.flush().catch(() => {});
      await sleep(200);

      t.is((await ledger.get(key))!.revision, entry.revision, "the record was not rewritten");
      const after = await tp.proxy.context.store.getConversation(cid);
      t.is(after!.spent, before!.spent);
      const refund = await tp.fetch("/v1/conversations/refund", { method: "POST", secret });
      t.is(refund.status, 200);
      const { refund_message } = (await refund.json()) as { refund_message: string };
      t.is(
        BigInt((JSON.parse(refund_message) as { refund_amount: string }).refund_amount),
        10_000n - before!.spent,
        "the refund pays back only what was not spent",
      );
    } finally {
      await attacker.close().catch(() => {});
      await admin.close();
    }
  },
);

test.serial(
  "T21 a client credential can neither take, read nor inject jobs (the work queue, its consumer, the results bucket)",
  async (t) => {
    const attacker = await asClient(clientUser.seedFile);
    const victim = await asClient(clientUser.seedFile);
    const admin = await asProxy();
    const jsm = await admin.jetstreamManager();
    const seen: string[] = [];
    const errors: string[] = [];
    try {
      // The queued job carries its user's bearer secret: the attacker listens on the work queue.
      attacker.subscribe("aiproxy.jobs.run", {
        callback: (err, msg) => (err ? errors.push(err.message) : seen.push(msg.subject)),
      });
      await attacker.flush().catch(() => {});
      const secret = tp.open(10_000n);
      const submitted = await natsRequest(victim, "aiproxy.jobs.submit", secret, ask);
      t.is(submitted.status, 202, "the victim's job is queued");
      const lastSeq = (await jsm.streams.info("AIPROXY_JOBS")).state.last_seq;

      // Pull the queue through the JetStream API, read the results bucket, inject a job.
      await t.throwsAsync(
        attacker.request(
          "$JS.API.CONSUMER.CREATE.AIPROXY_JOBS",
          new TextEncoder().encode(JSON.stringify({ stream_name: "AIPROXY_JOBS", config: {} })),
          { timeout: 1000 },
        ),
      );
      await t.throwsAsync(async () => {
        const kv = await attacker.jetstream().views.kv("aiproxy_jobs", { bindOnly: true });
        for await (const k of await kv.keys()) seen.push(k);
      });
      attacker.publish(
        "aiproxy.jobs.run",
        new TextEncoder().encode(JSON.stringify({ id: "job_forged", conversation_id: "x" })),
      );
      await attacker.flush().catch(() => {});
      await sleep(300);
      t.deepEqual(seen, [], "the attacker received no job and no job key");
      t.true(
        errors.some((e) => /permission/i.test(e)),
        `refused: ${errors.join("; ")}`,
      );
      t.is((await jsm.streams.info("AIPROXY_JOBS")).state.last_seq, lastSeq, "no job was injected");
    } finally {
      await attacker.close().catch(() => {});
      await victim.close();
      await admin.close();
    }
  },
);

test.serial("T21 the proxy refuses a wide-open bus in production mode", async (t) => {
  const open = await startNatsServer();
  try {
    const err = await t.throwsAsync(
      startTestProxy(mock.url, { mode: "production", nats: { servers: [open.url] } }),
    );
    t.regex(String(err?.message), /wide open/);
    const allowed = await startTestProxy(mock.url, {
      mode: "production",
      nats: { servers: [open.url], allow_open_bus: true },
    });
    t.true(allowed.logs.join("\n").includes("wide open"), "said loudly");
    await allowed.stop();
  } finally {
    await open.stop();
  }
});

export type { NatsConnection };
