// SECURITY.md T21: the scale-out bus is a trust boundary. nats-server runs the configuration this
// repository ships (proxy/nats/aiproxy.conf); a chat client's credential can send requests and read
// its own replies, and nothing else: not the queue group (other users' requests and secrets), not
// the JetStream API, not the ledger bucket.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { connect, type NatsConnection, nkeyAuthenticator } from "nats";
import { natsChat } from "../proxy/src/nats/client.js";
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

test.serial(
  "T21 a client credential can neither read nor write the ledger, jobs or refund state",
  async (t) => {
    const attacker = await asClient(clientUser.seedFile);
    const secret = tp.open(10_000n);
    try {
      t.is((await natsChat(attacker, secret, ask)).status, 200);
      const { conversationIdFromSecret } = await import("../proxy/src/auth.js");
      const before = await tp.proxy.context.store.getConversation(conversationIdFromSecret(secret));
      t.truthy(before);
      // The JetStream API (KV get/put, stream info) is not there for it.
      await t.throwsAsync(async () => {
        const kv = await attacker.jetstream().views.kv("aiproxy_ledger_token_test_near", { bindOnly: true });
        await kv.get("meta.contract");
      });
      await t.throwsAsync(
        attacker.request("$JS.API.STREAM.INFO.KV_aiproxy_ledger_token_test_near", undefined, {
          timeout: 1000,
        }),
      );
      // Raw publishes into the ledger's subjects are refused too: spent stays what it was.
      attacker.publish(
        "$KV.aiproxy_ledger_token_test_near.meta.contract",
        new TextEncoder().encode("evil.near"),
      );
      attacker.publish("$JS.API.STREAM.PURGE.KV_aiproxy_ledger_token_test_near");
      await attacker.flush().catch(() => {});
      await sleep(200);
      const after = await tp.proxy.context.store.getConversation(conversationIdFromSecret(secret));
      t.is(after!.spent, before!.spent);
      t.is(after!.deposit, before!.deposit);
    } finally {
      await attacker.close().catch(() => {});
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
