// Chat over NATS: the proxy and the test client both authenticate with nkeys over TLS (keys and
// certs made at test time). Same auth, metering and errors as HTTP; queue group spreads the load.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { connect, type NatsConnection, nkeyAuthenticator } from "nats";
import { natsChat, natsChatStream, natsRequest } from "#internal/proxy/nats/client";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { makeNkeyUser, type NatsServer, type NkeyUser, startNatsServer } from "./helpers/nats-server.js";
import { billFor } from "./helpers/provider-billing.js";
import { balance, startTestProxy, type TestProxy } from "./helpers/proxy.js";

const dir = mkdtempSync(join(tmpdir(), "aiproxy-nats-keys-"));
let server: NatsServer;
let upstream: MockUpstream;
let proxyUser: NkeyUser;
let clientUser: NkeyUser;
let proxies: TestProxy[] = [];
let client: NatsConnection;

const readSeed = async (file: string) => {
  const { readFileSync } = await import("node:fs");
  return new TextEncoder().encode(readFileSync(file, "utf8").trim());
};

test.before(async () => {
  proxyUser = makeNkeyUser(dir, "proxy");
  clientUser = makeNkeyUser(dir, "client");
  server = await startNatsServer({ tls: true, nkeyUsers: [proxyUser.publicKey, clientUser.publicKey] });
  upstream = await startMockUpstream({ reply: "one two three four five" });
  const natsConfig = {
    servers: [server.url],
    nkey_seed_file: proxyUser.seedFile,
    tls: { ca_file: server.caFile },
  };
  for (const instance of ["nats-a", "nats-b"]) {
    proxies.push(
      await startTestProxy(upstream.url, {
        instance_id: instance,
        store: { type: "jetstream", bucket: "transport_ledger" },
        nats: natsConfig,
      }),
    );
  }
  client = await connect({
    servers: server.url,
    authenticator: nkeyAuthenticator(await readSeed(clientUser.seedFile)),
    tls: { caFile: server.caFile },
  });
});

test.after.always(async () => {
  await client?.close().catch(() => {});
  for (const p of proxies) await p.stop().catch(() => {});
  proxies = [];
  await upstream?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ask = { model: "mock-model", messages: [{ role: "user", content: "hi" }], max_tokens: 20 };
/** What the mock bills for `ask` (its real token counts at the test prices). */
const BILL = billFor(ask, "one two three four five");

test("NATS: a completion through the NATS transport, nkey-authenticated over TLS, metered like HTTP", async (t) => {
  const secret = proxies[0]!.open(10_000n);
  proxies[1]!.chain.open(secret, 10_000n); // both proxies see the same chain
  const reply = await natsChat(client, secret, ask);
  t.is(reply.status, 200);
  t.is(reply.event, "result");
  const body = reply.body as {
    choices: Array<{ message: { content: string } }>;
    usage: Record<string, number>;
  };
  t.is(body.choices[0]!.message.content, "one two three four five");
  // The mock's prompt and completion tokens at the test prices (1 and 2 units per token).
  const b = await balance(proxies[0]!, secret);
  t.is(b.spent, BILL.toString());
  t.is(b.reserved, "0");
  t.is(body.usage["cost"] as unknown, BILL.toString(), "usage.cost is the charge");
  t.deepEqual(
    [reply.cost, reply.remaining, reply.reserved],
    [BILL.toString(), (10_000n - BILL).toString(), "0"],
    "cost and balance headers",
  );
});

test("NATS: streaming replies are one message per SSE event, then an empty end message", async (t) => {
  const secret = proxies[0]!.open(10_000n);
  proxies[1]!.chain.open(secret, 10_000n);
  let text = "";
  let chunks = 0;
  let cost: string | undefined;
  for await (const m of natsChatStream(client, secret, { ...ask, stream_options: { include_usage: true } })) {
    t.is(m.status, 200);
    t.is(m.event, "chunk");
    chunks++;
    const chunk = m.body as { choices: Array<{ delta?: { content?: string } }>; usage?: { cost?: string } };
    text += chunk.choices.map((c) => c.delta?.content ?? "").join("");
    cost = chunk.usage?.cost ?? cost;
  }
  t.is(text, "one two three four five");
  t.true(chunks >= 6);
  t.is(cost, BILL.toString(), "the usage chunk carries the settled cost");
  t.is((await balance(proxies[1]!, secret)).spent, BILL.toString());
});

test("NATS: errors have OpenAI's shape and the HTTP status in Aiproxy-Status", async (t) => {
  const missing = await natsRequest(client, "aiproxy.chat.completions", "", ask);
  t.is(missing.status, 401);
  t.is(missing.event, "error");
  t.is((missing.body as { error: { code: string } }).error.code, "invalid_api_key");

  const secret = proxies[0]!.open(5n);
  proxies[1]!.chain.open(secret, 5n);
  const poor = await natsChat(client, secret, ask);
  t.is(poor.status, 402);
  t.is((poor.body as { error: { type: string } }).error.type, "insufficient_quota");

  const bad = await natsRequest(client, "aiproxy.chat.completions", secret, "{not json");
  t.is(bad.status, 400);
  t.is((bad.body as { error: { code: string } }).error.code, "invalid_json");

  const unknown = await natsChat(client, secret, { ...ask, model: "nope" });
  t.is(unknown.status, 404);

  const stream: number[] = [];
  for await (const m of natsChatStream(client, secret, ask)) stream.push(m.status);
  t.deepEqual(stream, [402], "a stream that cannot start is one error, then end");
});

test("NATS: the queue group spreads requests over both proxies", async (t) => {
  const secret = proxies[0]!.open(1_000_000n);
  proxies[1]!.chain.open(secret, 1_000_000n);
  const replies = await Promise.all(Array.from({ length: 30 }, () => natsChat(client, secret, ask)));
  t.true(replies.every((r) => r.status === 200));
  const served = await Promise.all(
    proxies.map(async (p) => {
      const metric = await p.proxy.context.metrics.requests.get();
      return metric.values
        .filter((v) => v.labels["route"] === "nats:chat.completions")
        .reduce((a, v) => a + v.value, 0);
    }),
  );
  t.true(served[0]! > 0 && served[1]! > 0, `served ${served.join(" / ")}`);
  t.is((await balance(proxies[0]!, secret)).spent, String(30n * BILL));
});

test("NATS: a client without a known nkey cannot connect", async (t) => {
  const stranger = makeNkeyUser(dir, "stranger");
  await t.throwsAsync(
    connect({
      servers: server.url,
      authenticator: nkeyAuthenticator(await readSeed(stranger.seedFile)),
      tls: { caFile: server.caFile },
      reconnect: false,
    }),
  );
  await t.throwsAsync(connect({ servers: server.url, tls: { caFile: server.caFile }, reconnect: false }));
});
