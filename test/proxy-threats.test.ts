// SECURITY.md T08-T13 as attacks against a running proxy (fake chain, mock upstream).
import test from "ava";
import { verifyMessage } from "ethers";
import OpenAI from "openai";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { servingEnded } from "#internal/proxy/relay/admission";
import { refundSignerAddress } from "#wire/crypto";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { balance, newSecret, startTestProxy, type TestProxy, UPSTREAM_KEY } from "./helpers/proxy.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const costOf = (p: number, c: number) => BigInt(p) + 2n * BigInt(c);
/** What the mock charged for its latest answer, in token units at the test prices. */
const lastBill = (mock: MockUpstream) => {
  const u = mock.billed.at(-1)!;
  return costOf(u.prompt_tokens, u.completion_tokens);
};

async function setup(
  mockOptions = {},
  overrides = {},
): Promise<{ mock: MockUpstream; tp: TestProxy; done(): Promise<void> }> {
  const mock = await startMockUpstream({
    reply: "one two three four five",
    ...mockOptions,
  });
  const tp = await startTestProxy(mock.url, overrides);
  return {
    mock,
    tp,
    async done() {
      await tp.stop();
      await mock.close();
    },
  };
}

async function waitSettled(tp: TestProxy, secret: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = await balance(tp, secret);
    if (b.reserved === "0" || Date.now() > deadline) return b;
    await sleep(20);
  }
}

const chat = (tp: TestProxy, secret: string, body: Record<string, unknown>) =>
  tp.fetch("/v1/chat/completions", {
    method: "POST",
    secret,
    body: JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "hi" }], ...body }),
  });

// ---------------------------------------------------------------- T08
test("T08 concurrent overspend: 40 parallel requests against a nearly empty conversation never spend more than the deposit", async (t) => {
  const { tp, mock, done } = await setup({ chunkDelayMs: 5 });
  try {
    const deposit = 100n;
    const secret = tp.open(deposit);
    const results = await Promise.all(Array.from({ length: 40 }, () => chat(tp, secret, { max_tokens: 5 })));
    const ok = results.filter((r) => r.status === 200).length;
    const denied = results.filter((r) => r.status === 402);
    t.is(ok + denied.length, 40, "every request either answered or got 402");
    t.true(ok >= 1);
    for (const r of denied) {
      const body = (await r.json()) as { error: { code: string; type: string } };
      t.is(body.error.code, "insufficient_quota");
    }
    const b = await waitSettled(tp, secret);
    t.is(BigInt(b.spent), BigInt(ok) * lastBill(mock), "billed exactly the answered requests");
    t.true(BigInt(b.spent) <= deposit);
    t.is(b.reserved, "0");
    t.is(BigInt(b.remaining), deposit - BigInt(b.spent));
  } finally {
    await done();
  }
});

test("T08 concurrent overspend (streams, no max_tokens): the auto cap shrinks to what is left, never below zero", async (t) => {
  const { tp, done } = await setup({ chunkDelayMs: 5 });
  try {
    const deposit = 60n;
    const secret = tp.open(deposit);
    const client = tp.client(secret);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, async () => {
        const stream = await client.chat.completions.create({
          model: "mock-model",
          messages: [{ role: "user", content: "hi" }],
          stream: true,
        });
        for await (const _ of stream) {
          // drain
        }
      }),
    );
    const b = await waitSettled(tp, secret);
    t.true(BigInt(b.spent) <= deposit);
    t.true(BigInt(b.remaining) >= 0n);
    for (const o of outcomes) {
      if (o.status === "rejected") t.true(o.reason instanceof OpenAI.APIError && o.reason.status === 402);
    }
  } finally {
    await done();
  }
});

// ---------------------------------------------------------------- T09
test("T09 spend after refund: refund waits for the in-flight stream, then serves nothing; a repeated refund is identical", async (t) => {
  const { tp, mock, done } = await setup({ chunkDelayMs: 40, reply: "a b c d e f g h i j" });
  try {
    const deposit = 10_000n;
    const secret = tp.open(deposit, "alice.test.near");
    const client = tp.client(secret);
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "long answer" }],
      stream: true,
    });
    const reading = (async () => {
      let text = "";
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
      return text;
    })();
    await sleep(60); // the stream is in flight
    const refundRes = await tp.fetch("/v1/conversations/refund", { method: "POST", secret });
    t.is(refundRes.status, 200);
    const signed = (await refundRes.json()) as { refund_message: string; signature: string };
    t.is(await reading, "a b c d e f g h i j", "the in-flight stream completed");
    const message = JSON.parse(signed.refund_message);
    const expectedSpent = lastBill(mock);
    const onChain = tp.chain.conversations.get(message.conversation_id)!;
    t.deepEqual(message, {
      contract_id: "token.test.near",
      deployment: tp.chain.deploymentNonce,
      conversation_id: message.conversation_id,
      receiver_id: "alice.test.near",
      deposit: deposit.toString(),
      created_at: onChain.created_at,
      refund_amount: (deposit - expectedSpent).toString(),
    });
    t.is(refundSignerAddress(signed), tp.signer.address);
    t.is(verifyMessage(signed.refund_message, signed.signature), tp.signer.address);

    // Spend after refund: 403 for chat, stream and the seed route.
    const after = await chat(tp, secret, {});
    t.is(after.status, 403);
    t.is(((await after.json()) as { error: { code: string } }).error.code, "conversation_closed");
    const seed = await tp.fetch("/proxy-openai", {
      method: "POST",
      body: JSON.stringify({
        conversation_id: secret,
        model: "mock-model",
        messages: [{ role: "user", content: "x" }],
      }),
    });
    t.is(seed.status, 403);

    // Idempotent: same bytes, never a larger amount; concurrent repeats too.
    const again = await Promise.all(
      Array.from({ length: 5 }, async () =>
        (await tp.fetch("/v1/conversations/refund", { method: "POST", secret })).json(),
      ),
    );
    for (const r of again) t.deepEqual(r, signed);
    const b = await balance(tp, secret);
    t.is(b.status, "refund_signed");
    t.is(b.spent, expectedSpent.toString());
  } finally {
    await done();
  }
});

test("T09 a conversation already refunded on chain is refused with 403 at first sight", async (t) => {
  const { tp, done } = await setup();
  try {
    const secret = newSecret();
    const id = tp.chain.open(secret, 1000n);
    tp.chain.markRefunded(id, 400n);
    const res = await chat(tp, secret, {});
    t.is(res.status, 403);
    t.is(((await res.json()) as { error: { type: string } }).error.type, "permission_error");
  } finally {
    await done();
  }
});

// ---------------------------------------------------------------- T10
test("T10 unbilled disconnects: a client that disconnects mid-stream is billed for the full upstream usage", async (t) => {
  const words = Array.from({ length: 20 }, (_, i) => `w${i}`).join(" ");
  const { tp, mock, done } = await setup({ chunkDelayMs: 20, reply: words });
  try {
    const secret = tp.open(10_000n);
    const abort = new AbortController();
    const res = await tp.fetch("/v1/chat/completions", {
      method: "POST",
      secret,
      signal: abort.signal,
      body: JSON.stringify({
        model: "mock-model",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      }),
    });
    const reader = res.body!.getReader();
    await reader.read(); // first bytes arrived
    abort.abort(); // the client walks away
    await reader.cancel().catch(() => {});
    const b = await waitSettled(tp, secret);
    t.is(b.reserved, "0");
    t.is(b.spent, lastBill(mock).toString(), "billed what the upstream produced, from its usage");
    t.is(mock.answered, 1, "the proxy read the upstream to the end");
  } finally {
    await done();
  }
});

test("T10 upstream cut mid-stream: billed what was produced (never above the reservation), client told", async (t) => {
  const { tp, mock, done } = await setup({ reply: "alpha beta gamma delta epsilon zeta" });
  try {
    const secret = tp.open(10_000n);
    mock.faults.push({ cutAfterChunks: 3 });
    const client = tp.client(secret);
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      max_tokens: 100,
    });
    const err = await t.throwsAsync(async () => {
      for await (const _ of stream) {
        // drain
      }
    });
    t.regex(String(err?.message), /ended early/);
    const b = await waitSettled(tp, secret);
    t.true(BigInt(b.spent) > 0n);
    t.true(BigInt(b.spent) <= 10_000n);
    t.is(mock.requests.length, 1, "a mid-stream failure is never retried");
  } finally {
    await done();
  }
});

// ---------------------------------------------------------------- T11
test("T11 retries do not double-bill: 429 (Retry-After honoured) then 500 then success is billed once", async (t) => {
  const { tp, mock, done } = await setup();
  try {
    const secret = tp.open(10_000n);
    mock.faults.push({ status: 429, retryAfter: "1" }, { status: 500 });
    const started = Date.now();
    const res = await tp
      .client(secret)
      .chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "hi" }] });
    t.true(Date.now() - started >= 950, "waited for Retry-After");
    t.is(res.choices[0]!.message.content, "one two three four five");
    t.is(mock.requests.length, 3);
    t.is(mock.answered, 1);
    const b = await balance(tp, secret);
    t.is(b.spent, lastBill(mock).toString());
    t.is(b.reserved, "0");
  } finally {
    await done();
  }
});

test("T11 retries exhausted: the client gets 429 with Retry-After and pays nothing", async (t) => {
  const { tp, mock, done } = await setup(
    {},
    { retry: { max_retries: 1, initial_delay_ms: 5, max_delay_ms: 10 } },
  );
  try {
    const secret = tp.open(10_000n);
    mock.faults.push({ status: 429, retryAfter: "0" }, { status: 429, retryAfter: "3" });
    const res = await chat(tp, secret, { stream: true });
    t.is(res.status, 429);
    t.is(res.headers.get("retry-after"), "3");
    t.is(((await res.json()) as { error: { type: string } }).error.type, "rate_limit_error");
    const b = await balance(tp, secret);
    t.is(b.spent, "0");
    t.is(b.reserved, "0");
  } finally {
    await done();
  }
});

test("T11 per-attempt timeout then fallback to the next provider: answered once, billed once", async (t) => {
  const hanging = await startMockUpstream();
  const mock = await startMockUpstream({ reply: "one two three four five" });
  hanging.faults.push({ hang: true }, { hang: true });
  // Margins far apart, so that load cannot turn one case into the other: the primary never answers
  // (any timeout ends it; 1 s keeps the test short), the fallback answers at once and has 30 s.
  const tp = await startTestProxy(mock.url, {
    retry: { max_retries: 1, initial_delay_ms: 5, max_delay_ms: 10, timeout_ms: 30_000 },
    providers: [
      {
        name: "primary",
        type: "openai-compatible",
        base_url: hanging.url,
        retry: { timeout_ms: 1000, max_total_timeout_ms: 30_000 },
      },
      { name: "mock", type: "openai-compatible", base_url: mock.url },
    ],
    models: [
      { id: "mock-model", input_price: "1000000", output_price: "2000000", providers: ["primary", "mock"] },
    ],
  });
  try {
    const secret = tp.open(10_000n);
    const res = await tp
      .client(secret)
      .chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "hi" }] });
    t.is(res.choices[0]!.message.content, "one two three four five");
    t.is(hanging.requests.length, 2, "primary: first attempt + one retry, both timed out");
    t.is(mock.requests.length, 1);
    t.is((await balance(tp, secret)).spent, lastBill(mock).toString());
    const metrics = await (await tp.fetch("/metrics")).text();
    t.regex(metrics, /aiproxy_upstream_errors_total\{provider="primary",reason="timeout"\} 2/);
  } finally {
    await tp.stop();
    await hanging.close();
    await mock.close();
  }
});

test("T11 a provider's retry overrides only the keys it names; the rest come from the top-level retry", async (t) => {
  const { parseConfig } = await import("#internal/proxy/config");
  const { routesFor } = await import("#internal/proxy/relay/routes");
  const config = parseConfig({
    retry: { max_retries: 0, initial_delay_ms: 7 },
    providers: [
      {
        name: "slow",
        type: "openai-compatible",
        base_url: "https://a.example/v1",
        retry: { timeout_ms: 99 },
      },
    ],
    models: [{ id: "m", input_price: "1", output_price: "1", providers: ["slow"] }],
  });
  t.deepEqual(config.providers[0]!.retry, { timeout_ms: 99 }, "no defaults of its own");
  const ctx = { config, models: new Map([["m", { providers: ["slow"] }]]), upstreams: new Map() };
  const [route] = routesFor(ctx as never, "m");
  t.like(route!.retry, { max_retries: 0, initial_delay_ms: 7, timeout_ms: 99, max_total_timeout_ms: 60_000 });
});

test("T11 a non-streaming answer that stalls after its headers is aborted after timeout_ms: 502, nothing billed, nothing left reserved", async (t) => {
  // The mock's headers come at once and its body never: 3 s is far from both, even on a loaded machine
  // (with 200 ms the headers themselves were sometimes late, and the client got the attempt's 504).
  const { mock, tp, done } = await setup({}, { retry: { max_retries: 0, timeout_ms: 3000 } });
  t.timeout(60_000, "without the idle timeout the request would hang");
  try {
    mock.faults.push({ stallBody: true });
    const secret = tp.open(10_000n);
    const res = await chat(tp, secret, {});
    t.is(res.status, 502);
    const { error } = (await res.json()) as { error: { type: string; message: string } };
    t.is(error.type, "upstream_error");
    t.regex(error.message, /not valid JSON/, "cut by the idle timeout after the headers");
    const b = await waitSettled(tp, secret);
    t.deepEqual([b.spent, b.reserved], ["0", "0"]);
    const metrics = await (await tp.fetch("/metrics")).text();
    t.regex(metrics, /aiproxy_upstream_errors_total\{provider="mock",reason="garbled_body"\} 1/);
  } finally {
    await done();
  }
});

// ---------------------------------------------------------------- T12
test("T12 bad input: clear 4xx OpenAI errors, never a 500, never a crash", async (t) => {
  const { tp, done } = await setup({}, { max_body_bytes: 4096 });
  try {
    const secret = tp.open(10_000n);
    const cases: Array<[string, () => Promise<Response>, number, string]> = [
      [
        "malformed JSON",
        () =>
          tp.fetch("/v1/chat/completions", {
            method: "POST",
            secret,
            body: '{"model": "mock-model", "messages": [',
          }),
        400,
        "invalid_json",
      ],
      [
        "empty body",
        () => tp.fetch("/v1/chat/completions", { method: "POST", secret, body: "" }),
        400,
        "invalid_json",
      ],
      [
        "JSON array body",
        () => tp.fetch("/v1/chat/completions", { method: "POST", secret, body: "[1,2]" }),
        400,
        "invalid_json",
      ],
      [
        "oversized body",
        () =>
          tp.fetch("/v1/chat/completions", {
            method: "POST",
            secret,
            body: JSON.stringify({
              model: "mock-model",
              messages: [{ role: "user", content: "x".repeat(10_000) }],
            }),
          }),
        413,
        "request_too_large",
      ],
      ["unknown model", () => chat(tp, secret, { model: "gpt-9-ultra" }), 404, "model_not_found"],
      ["missing messages", () => chat(tp, secret, { messages: undefined }), 400, "invalid_request"],
      [
        "bad role",
        () => chat(tp, secret, { messages: [{ role: "hacker", content: "x" }] }),
        400,
        "invalid_request",
      ],
      ["negative max_tokens", () => chat(tp, secret, { max_tokens: -5 }), 400, "invalid_request"],
      ["string max_tokens", () => chat(tp, secret, { max_tokens: "lots" }), 400, "invalid_request"],
      [
        "missing bearer",
        () =>
          tp.fetch("/v1/chat/completions", {
            method: "POST",
            body: JSON.stringify({ model: "mock-model", messages: [] }),
          }),
        401,
        "missing_api_key",
      ],
      [
        "malformed authorization",
        () =>
          tp.fetch("/v1/chat/completions", {
            method: "POST",
            headers: { authorization: "Basic abc" },
            body: "{}",
          }),
        401,
        "invalid_api_key",
      ],
      ["wrong bearer (not on chain)", () => chat(tp, newSecret(), {}), 404, "conversation_not_found"],
      [
        "balance of an unknown id",
        () => tp.fetch("/v1/conversations/current", { secret: newSecret() }),
        404,
        "conversation_not_found",
      ],
      [
        "refund of an unknown id",
        () => tp.fetch("/v1/conversations/refund", { method: "POST", secret: newSecret() }),
        404,
        "conversation_not_found",
      ],
      [
        "max_tokens beyond the balance",
        () => chat(tp, secret, { max_tokens: 1_000_000 }),
        402,
        "insufficient_quota",
      ],
      [
        "embeddings without input",
        () => tp.fetch("/v1/embeddings", { method: "POST", secret, body: '{"model":"mock-model"}' }),
        400,
        "invalid_request",
      ],
      [
        "responses with a built-in tool",
        () =>
          tp.fetch("/v1/responses", {
            method: "POST",
            secret,
            body: '{"model":"mock-model","input":"x","tools":[{"type":"web_search"}]}',
          }),
        400,
        "unsupported_parameter",
      ],
      [
        "unknown route",
        () => tp.fetch("/v1/images/generations", { method: "POST", secret, body: "{}" }),
        404,
        "route_not_found",
      ],
      [
        "seed route without secret",
        () => tp.fetch("/proxy-openai", { method: "POST", body: JSON.stringify({ messages: [] }) }),
        401,
        "missing_api_key",
      ],
    ];
    for (const [name, run, status, code] of cases) {
      const res = await run();
      t.is(res.status, status, name);
      const body = (await res.json()) as {
        error: { message: string; type: string; param: unknown; code: string };
      };
      t.is(body.error.code, code, name);
      t.is(typeof body.error.message, "string", name);
      t.is(typeof body.error.type, "string", name);
      t.true("param" in body.error, name);
    }
    // The openai client maps them to its error classes.
    const client = tp.client(newSecret());
    await t.throwsAsync(
      client.chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] }),
      {
        instanceOf: OpenAI.NotFoundError,
      },
    );
    const b = await balance(tp, secret);
    t.is(b.spent, "0", "rejected requests cost nothing");
    t.is(b.reserved, "0");
    t.is((await tp.fetch("/healthz")).status, 200, "still alive");
  } finally {
    await done();
  }
});

test("T12 chain unavailable: 503 in OpenAI shape, not a 500 and not a 404", async (t) => {
  const { tp, done } = await setup();
  try {
    tp.chain.viewConversation = async () => {
      const { ChainUnavailableError } = await import("#internal/proxy/chain/types");
      throw new ChainUnavailableError("connection refused");
    };
    const res = await chat(tp, newSecret(), {});
    t.is(res.status, 503);
    t.is(((await res.json()) as { error: { code: string } }).error.code, "chain_unavailable");
  } finally {
    await done();
  }
});

// ---------------------------------------------------------------- T13
test("T13 secrets: client secret, upstream key and signer key never appear in logs or responses", async (t) => {
  const { tp, mock, done } = await setup();
  try {
    const secret = tp.open(10_000n);
    const seen: string[] = [];
    const record = async (res: Response) => {
      const headers: string[] = [];
      res.headers.forEach((v, k) => {
        headers.push(`${k}: ${v}`);
      });
      seen.push(headers.join("\n"), await res.text());
    };
    await record(await chat(tp, secret, {}));
    await record(await chat(tp, secret, { stream: true }));
    // The upstream rejects our key and quotes it back, like OpenAI's 401 does.
    mock.faults.push({ status: 401, message: `Incorrect API key provided: ${UPSTREAM_KEY}` });
    const rejected = await chat(tp, secret, {});
    t.is(rejected.status, 502);
    await record(rejected);
    mock.faults.push({ status: 400, message: `bad request, your key ${UPSTREAM_KEY} is fine` });
    await record(await chat(tp, secret, {}));
    await record(await chat(tp, `${secret}-wrong`, {}));
    await record(
      await tp.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { authorization: `Bearer ${secret}` },
        body: "{oops",
      }),
    );
    await record(await tp.fetch("/v1/conversations/current", { secret }));
    await record(await tp.fetch("/v1/conversations/refund", { method: "POST", secret }));
    await record(await tp.fetch("/metrics"));
    await record(await tp.fetch("/v1/models"));
    const signerKey = tp.proxy.context.signer!.privateKey;
    const haystacks = { logs: tp.logs.join("\n"), responses: seen.join("\n") };
    t.true(haystacks.logs.length > 0);
    for (const [where, text] of Object.entries(haystacks)) {
      t.false(text.includes(secret), `client secret in ${where}`);
      t.false(text.includes(UPSTREAM_KEY), `upstream key in ${where}`);
      t.false(text.includes(signerKey.slice(2)), `signer key in ${where}`);
    }
    t.false(
      JSON.stringify(tp.proxy.context.config).includes(signerKey.slice(2)),
      "the config object holds no secret",
    );
  } finally {
    await done();
  }
});

test("T13 CORS: not * by default in production; configured origins only; * in development", async (t) => {
  const mock = await startMockUpstream();
  const prod = await startTestProxy(mock.url, { mode: "production" });
  const listed = await startTestProxy(mock.url, {
    mode: "production",
    cors_origins: ["https://app.example"],
  });
  const dev = await startTestProxy(mock.url, { mode: "development" });
  try {
    const origin = { headers: { origin: "https://evil.example" } };
    t.is((await prod.fetch("/v1/models", origin)).headers.get("access-control-allow-origin"), null);
    t.is((await listed.fetch("/v1/models", origin)).headers.get("access-control-allow-origin"), null);
    const ok = await listed.fetch("/v1/models", { headers: { origin: "https://app.example" } });
    t.is(ok.headers.get("access-control-allow-origin"), "https://app.example");
    t.is((await dev.fetch("/v1/models", origin)).headers.get("access-control-allow-origin"), "*");
  } finally {
    await Promise.all([prod.stop(), listed.stop(), dev.stop()]);
    await mock.close();
  }
});

test("T13 a secret pasted into the YAML config is rejected, and the error does not echo it", async (t) => {
  const { parseConfig, ConfigError } = await import("#internal/proxy/config");
  const err = t.throws(
    () =>
      parseConfig({
        providers: [
          {
            name: "x",
            type: "openai-compatible",
            base_url: "https://api.example/v1",
            api_key: "sk-live-very-secret",
          },
        ],
        models: [{ id: "m", input_price: "1", output_price: "1", providers: ["x"] }],
      }),
    { instanceOf: ConfigError },
  );
  t.false(String(err?.message).includes("sk-live-very-secret"));
  t.regex(String(err?.message), /api_key/);
});

// ---------------------------------------------------------------- T17 (the operator's side)
test("T17 the proxy stops serving before the escrow expires (its opener could then reclaim what was served), and still signs its refund", async (t) => {
  const { tp, done } = await setup(
    {},
    { chain: { contract_id: "token.test.near", stop_before_expiry_secs: 600 } },
  );
  try {
    const minute = 60n * 1_000_000_000n;
    const fresh = tp.open(10_000n, "alice.test.near", 60n * minute);
    t.is((await chat(tp, fresh, {})).status, 200, "an hour left: served");
    const ending = tp.open(10_000n, "alice.test.near", 9n * minute);
    const refused = await chat(tp, ending, {});
    t.is(refused.status, 403, "nine minutes left, inside the 10-minute margin");
    const body = (await refused.json()) as { error: { code: string; message: string } };
    t.is(body.error.code, "conversation_expiring");
    t.regex(body.error.message, /expires at \d{4}-\d\d-\d\dT.*POST \/v1\/conversations\/refund/);
    // A conversation the ledger already knows is judged by the expiry it recorded at first sight.
    const known = tp.open(10_000n, "alice.test.near", 11n * minute);
    t.is((await chat(tp, known, {})).status, 200);
    const state = await tp.proxy.context.store.getConversation(conversationIdFromSecret(known));
    t.is(
      state?.escrow?.expires_at,
      BigInt(tp.chain.conversations.get(conversationIdFromSecret(known))!.expires_at),
    );
    t.false(servingEnded(state!.escrow!.expires_at, 600));
    t.true(servingEnded(state!.escrow!.expires_at, 600, Date.now() + 2 * 60_000), "two minutes on");
    // The refund is signed whatever the expiry: the opener's own money, and the operator's pay.
    const refund = await tp.fetch("/v1/conversations/refund", { method: "POST", secret: ending });
    t.is(refund.status, 200);
    const signed = (await refund.json()) as { refund_message: string };
    t.like(JSON.parse(signed.refund_message), { refund_amount: "10000", deposit: "10000" });
  } finally {
    await done();
  }
});
