// SECURITY.md T23: cheap abuse. Unknown secrets, deeply nested JSON and floods of bad requests get a
// 4xx quickly and cost no unbounded chain lookups; never a 500.
import test from "ava";
import { startMockUpstream } from "./helpers/mock-upstream.js";
import { newSecret, startTestProxy } from "./helpers/proxy.js";

const body = JSON.stringify({
  model: "mock-model",
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 5,
});

test("T23 1000 requests with random secrets cause a bounded number of chain lookups", async (t) => {
  const mock = await startMockUpstream();
  const tp = await startTestProxy(mock.url);
  try {
    const views = tp.chain.views;
    const started = Date.now();
    const statuses: number[] = [];
    const limited: Response[] = [];
    for (let round = 0; round < 20; round++) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, () =>
          tp.fetch("/v1/chat/completions", {
            method: "POST",
            secret: newSecret(),
            body,
          }),
        ),
      );
      for (const res of batch) {
        statuses.push(res.status);
        if (res.status === 429) limited.push(res);
        else await res.body?.cancel();
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const lookups = tp.chain.views - views;
    t.true(
      statuses.every((s) => s === 404 || s === 429),
      `statuses ${[...new Set(statuses)].join(",")}`,
    );
    // Burst 30, then 2 per second.
    t.true(
      lookups <= 30 + Math.ceil(seconds * 2) + 1,
      `${lookups} chain lookups for 1000 requests in ${seconds} s`,
    );
    t.true(limited.length > 900, `${limited.length} requests were rate limited`);
    t.truthy(limited[0]!.headers.get("retry-after"));
    t.is(((await limited[0]!.json()) as { error: { type: string } }).error.type, "rate_limit_error");
    for (const res of limited.slice(1)) await res.body?.cancel();
  } finally {
    await tp.stop();
    await mock.close();
  }
});

test("first-sight limits are per client (behind a reverse proxy, by abuse.client_ip_header)", async (t) => {
  const mock = await startMockUpstream();
  const tp = await startTestProxy(mock.url, {
    abuse: { client_ip_header: "x-forwarded-for", lookups_burst: 5, lookups_per_second: 0.001 },
  });
  try {
    for (let i = 0; i < 10; i++) {
      const res = await tp.fetch("/v1/chat/completions", {
        method: "POST",
        secret: newSecret(),
        headers: { "x-forwarded-for": "203.0.113.7, 10.0.0.1" },
        body,
      });
      t.is(res.status, i < 5 ? 404 : 429);
    }
    // Another client with a real escrow is served meanwhile.
    const secret = tp.open(10_000n);
    const ok = await tp.fetch("/v1/chat/completions", {
      method: "POST",
      secret,
      headers: { "x-forwarded-for": "198.51.100.2" },
      body,
    });
    t.is(ok.status, 200);
  } finally {
    await tp.stop();
    await mock.close();
  }
});

test("T23 an unknown secret sent again and again is looked up on chain once (negative cache)", async (t) => {
  const mock = await startMockUpstream();
  const tp = await startTestProxy(mock.url);
  try {
    const secret = newSecret();
    const views = tp.chain.views;
    for (let i = 0; i < 25; i++) {
      const res = await tp.fetch("/v1/chat/completions", { method: "POST", secret, body });
      t.is(res.status, 404);
      t.is(((await res.json()) as { error: { code: string } }).error.code, "conversation_not_found");
    }
    t.is(tp.chain.views - views, 1);
  } finally {
    await tp.stop();
    await mock.close();
  }
});

test("T23 10,000-deep JSON gets a 400 in OpenAI's error shape, before any work", async (t) => {
  const mock = await startMockUpstream();
  const tp = await startTestProxy(mock.url);
  try {
    const secret = tp.open(10_000n);
    const deep = `{"model":"mock-model","messages":[{"role":"user","content":${"[".repeat(10_000)}${"]".repeat(10_000)}}]}`;
    const object = `{"model":"mock-model","messages":[{"role":"user","content":"x","x":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}]}`;
    for (const text of [deep, object]) {
      const res = await tp.fetch("/v1/chat/completions", { method: "POST", secret, body: text });
      t.is(res.status, 400);
      const err = (await res.json()) as {
        error: { message: string; type: string; param: unknown; code: string };
      };
      t.is(err.error.type, "invalid_request_error");
      t.is(err.error.code, "invalid_json");
      t.regex(err.error.message, /nested deeper than 64 levels/);
    }
    t.is(mock.requests.length, 0);
    const b = (await (await tp.fetch("/v1/conversations/current", { secret })).json()) as { spent: string };
    t.is(b.spent, "0");
    t.is((await tp.fetch("/healthz")).status, 200);
  } finally {
    await tp.stop();
    await mock.close();
  }
});
