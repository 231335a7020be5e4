// SECURITY.md T18: the reservation bounds the bill. Each attack sends what a real provider bills more
// for than a naive estimate, against a mock that bills like one (real o200k counts, OpenAI's image and
// tool costs; helpers/provider-billing.ts), and checks that every settlement charged the provider's
// full bill and that no bill exceeded its reservation (no overage).
import test from "ava";
import type { ProxyConfigInput } from "#internal/proxy/config";
import { type MockOptions, type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { pngDataUrl } from "./helpers/provider-billing.js";
import { startTestProxy, type TestProxy } from "./helpers/proxy.js";

const billOf = (u: { prompt_tokens: number; completion_tokens: number }) =>
  BigInt(u.prompt_tokens) + 2n * BigInt(u.completion_tokens);

async function withProxy(
  mockOptions: MockOptions,
  run: (tp: TestProxy, mock: MockUpstream) => Promise<void>,
  overrides: (mock: MockUpstream) => ProxyConfigInput = () => ({}),
): Promise<void> {
  const mock = await startMockUpstream(mockOptions);
  // One attempt per request: a retry after a timeout on a loaded machine would be a second bill the
  // provider charges and the proxy does not (T11's rule), which is not what these tests measure.
  const tp = await startTestProxy(mock.url, {
    retry: { max_retries: 0, timeout_ms: 30_000, max_total_timeout_ms: 60_000 },
    ...overrides(mock),
  });
  try {
    await run(tp, mock);
  } finally {
    await tp.stop();
    await mock.close();
  }
}

const post = (tp: TestProxy, secret: string, body: Record<string, unknown>) =>
  tp.fetch("/v1/chat/completions", {
    method: "POST",
    secret,
    body: JSON.stringify({ model: "mock-model", ...body }),
  });

/** Every settlement of the conversation charged the provider's bill in full, within its reservation. */
async function assertBounded(
  t: import("ava").ExecutionContext,
  tp: TestProxy,
  mock: MockUpstream,
  secret: string,
) {
  const { conversationIdFromSecret } = await import("#internal/proxy/auth");
  const id = conversationIdFromSecret(secret);
  for (
    let i = 0;
    i < 100 && (await tp.proxy.context.store.openReservations({ conversation_id: id })).length;
    i++
  )
    await new Promise((r) => setTimeout(r, 20));
  const settlements = await tp.proxy.context.store.settlements(id);
  const charged = settlements.reduce((n, s) => n + s.charged, 0n);
  const billed = mock.billed.reduce((n, u) => n + billOf(u), 0n);
  t.is(charged, billed, "the conversation paid exactly what the provider billed");
  for (const s of settlements)
    t.true(s.charged <= s.reserved, `charged ${s.charged} within reserved ${s.reserved}`);
  const metrics = await (await tp.fetch("/metrics")).text();
  t.notRegex(
    metrics,
    /aiproxy_overage_requests_total\{[^}]*\} [1-9]/,
    "no request cost more than its reservation",
  );
}

test("T18 a stream without usage bills every delta: 400 reasoning tokens are not free", async (t) => {
  const reasoning = Array.from({ length: 400 }, (_, i) => `step${i % 10}`).join(" ");
  await withProxy({ reasoning, reply: "ok", noUsage: true }, async (tp, mock) => {
    const secret = tp.open(100_000n);
    const res = await post(tp, secret, {
      messages: [{ role: "user", content: "think hard" }],
      stream: true,
      max_tokens: 2000,
    });
    t.is(res.status, 200);
    t.regex(await res.text(), /reasoning_content/);
    const { conversationIdFromSecret } = await import("#internal/proxy/auth");
    const [s] = await tp.proxy.context.store.settlements(conversationIdFromSecret(secret));
    t.true(
      s!.charged >= billOf(mock.billed[0]!),
      `charged ${s!.charged}, provider billed ${billOf(mock.billed[0]!)}`,
    );
    t.true(s!.charged <= s!.reserved);
  });
});

for (const knob of ["n_predict", "num_predict", "max_new_tokens"]) {
  test(`T18 a provider length field (${knob}) cannot make the upstream generate past the reservation`, async (t) => {
    await withProxy({ reply: "la", ramble: true }, async (tp, mock) => {
      const secret = tp.open(1000n);
      const res = await post(tp, secret, {
        messages: [{ role: "user", content: "go on forever" }],
        max_tokens: 100,
        [knob]: 8000,
      });
      t.is(res.status, 400);
      const body = (await res.json()) as { error: { code: string; param: string; message: string } };
      t.is(body.error.code, "unsupported_parameter");
      t.is(body.error.param, knob);
      t.regex(body.error.message, /max_completion_tokens/);
      t.is(mock.requests.length, 0, "never forwarded");
      await assertBounded(t, tp, mock, secret);
    });
  });
}

test("fields: unknown fields are refused by default, forwarded when a provider lists them, dropped on request", async (t) => {
  await withProxy({}, async (tp, mock) => {
    const secret = tp.open(100_000n);
    const refused = await post(tp, secret, { messages: [{ role: "user", content: "x" }], top_k: 5 });
    t.is(refused.status, 400);
    t.is(((await refused.json()) as { error: { param: string } }).error.param, "top_k");
    const ok = await post(tp, secret, {
      messages: [{ role: "user", content: "x" }],
      temperature: 0.5,
      user: "u1",
      stream_options: { include_usage: true },
    });
    t.is(ok.status, 200);
    t.is(mock.requests.at(-1)!.body["user"], "u1");
  });
  await withProxy(
    {},
    async (tp, mock) => {
      const secret = tp.open(100_000n);
      const res = await post(tp, secret, { messages: [{ role: "user", content: "x" }], top_k: 5, junk: 1 });
      t.is(res.status, 200);
      t.is(mock.requests.at(-1)!.body["top_k"], 5, "listed in extra_fields");
      t.false("junk" in mock.requests.at(-1)!.body, "dropped");
      const knob = await post(tp, secret, { messages: [{ role: "user", content: "x" }], n_predict: 5 });
      t.is(knob.status, 400, "length knobs are refused even with unknown_fields: drop");
    },
    (mock) => ({
      metering: { unknown_fields: "drop" },
      providers: [
        { name: "mock", type: "openai-compatible", base_url: mock.url, extra_fields: ["top_k"] },
        { name: "local", type: "local" },
      ],
    }),
  );
});

test("fields: a length knob in providers[].extra_fields is a config error", async (t) => {
  const { parseConfig, ConfigError } = await import("#internal/proxy/config");
  const err = t.throws(
    () =>
      parseConfig({
        providers: [{ name: "x", type: "local", extra_fields: ["n_predict"] }],
        models: [{ id: "m", input_price: "1", output_price: "1", providers: ["x"] }],
      }),
    { instanceOf: ConfigError },
  );
  t.regex(String(err?.message), /length knob/);
});

// ------------------------------------------------------------- adversarial prompts (T18)
const image = (url: string, detail = "high") => ({ type: "image_url", image_url: { url, detail } });
const rareCjk = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x20000 + ((i * 37) % 5000))).join(
  "",
);
const emoji = "👨‍👩‍👧‍👦🎉🧑🏽‍🚀".repeat(60);
const zalgo = "a\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u0309\u030a\u030b".repeat(60);
const fn = (i: number) => ({
  name: `tool_number_${i}`,
  description: `Looks up record ${i} in the inventory and returns its full history in detail`,
  parameters: {
    type: "object",
    properties: {
      id: { type: "string", description: "the record id" },
      depth: { type: "integer", description: "how many levels of history" },
    },
    required: ["id"],
  },
});

const attacks: Array<[string, number, (mockUrl: string) => Record<string, unknown>]> = [
  [
    "16 images in one request",
    1000,
    (u) => ({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what" },
            ...Array.from({ length: 16 }, () => image(`${u}/images/2048x2048.png`)),
          ],
        },
      ],
      max_tokens: 5,
    }),
  ],
  [
    "image data URLs at 2048x768 (8 tiles each)",
    20_000,
    () => ({
      messages: [
        { role: "user", content: [image(pngDataUrl(2048, 768)), image(pngDataUrl(2048, 768), "auto")] },
      ],
      max_tokens: 5,
    }),
  ],
  [
    "40 legacy functions",
    2000,
    () => ({
      messages: [{ role: "user", content: "hi" }],
      functions: Array.from({ length: 40 }, (_, i) => fn(i)),
      max_tokens: 5,
    }),
  ],
  [
    "40 legacy functions on a larger balance",
    40_000,
    () => ({
      messages: [{ role: "user", content: "hi" }],
      functions: Array.from({ length: 40 }, (_, i) => fn(i)),
      function_call: "auto",
      max_tokens: 5,
    }),
  ],
  ["rare CJK (Extension B)", 5000, () => ({ messages: [{ role: "user", content: rareCjk }], max_tokens: 5 })],
  ["emoji and ZWJ sequences", 5000, () => ({ messages: [{ role: "user", content: emoji }], max_tokens: 5 })],
  ["combining marks", 5000, () => ({ messages: [{ role: "user", content: zalgo }], max_tokens: 5 })],
];

for (const [name, deposit, body] of attacks) {
  test(`T18 the reservation bounds the bill: ${name}`, async (t) => {
    await withProxy({ reply: "fine" }, async (tp, mock) => {
      const secret = tp.open(BigInt(deposit));
      const res = await post(tp, secret, body(mock.url));
      t.true(res.status === 200 || res.status === 402, `answered or refused up front, got ${res.status}`);
      if (res.status === 402) t.is(mock.requests.length, 0);
      await assertBounded(t, tp, mock, secret);
    });
  });
}

test("T18 20 concurrent image requests on 10,000 units: no request bills beyond its reservation, nothing beyond the deposit", async (t) => {
  await withProxy({ reply: "fine", chunkDelayMs: 5 }, async (tp, mock) => {
    const secret = tp.open(10_000n);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        post(tp, secret, {
          messages: [
            {
              role: "user",
              content: [{ type: "text", text: "describe" }, image(`${mock.url}/images/2048x2048.png`)],
            },
          ],
          max_tokens: 5,
          stream: true,
        }).then(async (r) => ({ status: r.status, text: await r.text() })),
      ),
    );
    for (const r of results) t.true(r.status === 200 || r.status === 402, String(r.status));
    t.true(results.some((r) => r.status === 200));
    await assertBounded(t, tp, mock, secret);
    const b = await tp.proxy.context.store.getConversation(
      (await import("#internal/proxy/auth")).conversationIdFromSecret(secret),
    );
    t.true(b!.spent <= 10_000n);
  });
});

test("n choices, tools and a json_schema response_format are reserved for and billed within the reservation", async (t) => {
  await withProxy({ reply: "a fine answer" }, async (tp, mock) => {
    const secret = tp.open(100_000n);
    const res = await post(tp, secret, {
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hi", name: "alice" },
      ],
      tools: [{ type: "function", function: fn(1) }],
      tool_choice: "none",
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object", properties: { text: { type: "string" } } } },
      },
      n: 3,
      max_completion_tokens: 10,
    });
    t.is(res.status, 200);
    const json = (await res.json()) as { choices: unknown[] };
    t.is(json.choices.length, 3);
    await assertBounded(t, tp, mock, secret);
  });
});

test("the last units of a conversation: the byte bound does not fit, the tokenizer's exact count does", async (t) => {
  await withProxy(
    { reply: "ok" },
    async (tp, mock) => {
      // 600 ASCII bytes: the byte bound is about 600 tokens, the real count about 100.
      const text = "the quick brown fox jumps over the lazy dog ".repeat(14);
      const secret = tp.open(400n);
      const res = await post(tp, secret, {
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: text }],
        max_tokens: 5,
      });
      t.is(res.status, 200, await res.clone().text());
      await assertBounded(t, tp, mock, secret);
    },
    (mock) => ({
      providers: [
        { name: "mock", type: "openai-compatible", base_url: mock.url },
        { name: "local", type: "local" },
      ],
      models: [
        { id: "gpt-4o-mini", input_price: "1000000", output_price: "2000000", providers: ["mock"] },
        { id: "demo-local", input_price: "1000000", output_price: "2000000", providers: ["local"] },
      ],
    }),
  );
});

test("overage: usage above the reservation (images priced too low in the config) is collected only from the free balance, counted and logged with the model and request id", async (t) => {
  // The operator configured gpt-4o's image costs; the model behind the provider bills gpt-4o-mini's
  // (2833 + 5667 per tile), far above the worst case the proxy reserves for.
  await withProxy({ reply: "fine", images: { base: 2833, tile: 5667 } }, async (tp, mock) => {
    const deposit = 40_000n;
    const secret = tp.open(deposit);
    const ask = (stream: boolean) =>
      post(tp, secret, {
        messages: [
          {
            role: "user",
            content: [{ type: "text", text: "describe" }, image(`${mock.url}/images/2048x2048.png`)],
          },
        ],
        max_tokens: 5,
        stream,
      });
    const first = await ask(false);
    t.is(first.status, 200);
    const answerIds = [((await first.json()) as { id: string }).id];
    const second = await ask(true);
    t.is(second.status, 200);
    answerIds.push(/"id":"([^"]+)"/.exec(await second.text())![1]!);

    const { conversationIdFromSecret } = await import("#internal/proxy/auth");
    const id = conversationIdFromSecret(secret);
    const [s1, s2] = await tp.proxy.context.store.settlements(id);
    const [bill1, bill2] = mock.billed.map(billOf);
    t.true(bill1! > s1!.reserved, `the provider billed ${bill1}, ${s1!.reserved} was reserved`);
    t.is(s1!.charged, bill1!, "the excess came out of the free balance in full");
    t.is(s2!.charged, deposit - bill1!, "then no more than what was left: reservation + free balance");
    const state = await tp.proxy.context.store.getConversation(id);
    t.is(state!.spent, deposit);
    t.is(state!.reserved, 0n);

    const metrics = await (await tp.fetch("/metrics")).text();
    const over = bill1! - s1!.reserved + (bill2! - s2!.reserved);
    t.regex(metrics, /aiproxy_overage_requests_total\{model="mock-model"\} 2\n/);
    t.regex(metrics, new RegExp(`aiproxy_overage_token_units_total\\{model="mock-model"\\} ${over}\\n`));
    const lines = tp.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l["msg"] === "upstream usage cost more than the reservation");
    t.deepEqual(
      lines.map((l) => [l["level"], l["model"], l["request_id"], l["answer_id"], l["uncollected"]]),
      [
        [40, "mock-model", s1!.reservation_id, answerIds[0], "0"],
        [40, "mock-model", s2!.reservation_id, answerIds[1], (bill2! - s2!.charged).toString()],
      ],
    );
  });
});
