// The proxy driven by the official openai client against the mock upstream (real wire format).
import test from "ava";
import type OpenAI from "openai";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { balance, startTestProxy, type TestProxy, UPSTREAM_KEY } from "./helpers/proxy.js";

let mock: MockUpstream;
let tp: TestProxy;

test.before(async () => {
  mock = await startMockUpstream({ reply: "one two three four five" });
  tp = await startTestProxy(mock.url);
});
test.after.always(async () => {
  await tp?.stop();
  await mock?.close();
});

// Prices: 1 unit per input token, 2 per output token (see helpers/proxy.ts).
const costOf = (u: { prompt_tokens: number; completion_tokens: number }) =>
  BigInt(u.prompt_tokens) + 2n * BigInt(u.completion_tokens);

test.serial("non-streaming completion: answer relayed, balance matches the mock's usage", async (t) => {
  const secret = tp.open(10_000n);
  const before = mock.requests.length;
  const res = await tp.client(secret).chat.completions.create({
    model: "mock-model",
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 50,
    temperature: 0.2,
    response_format: { type: "text" },
    reasoning_effort: "low",
  });
  t.is(res.choices[0]!.message.content, "one two three four five");
  const billed = mock.billed.at(-1)!;
  t.deepEqual(res.usage && { p: res.usage.prompt_tokens, c: res.usage.completion_tokens }, {
    p: billed.prompt_tokens,
    c: 5,
  });
  const sent = mock.requests[before]!;
  t.is(sent.headers.authorization, `Bearer ${UPSTREAM_KEY}`, "the upstream key goes to the upstream only");
  t.is(sent.body["temperature"], 0.2);
  t.deepEqual(sent.body["response_format"], { type: "text" });
  t.is(sent.body["reasoning_effort"], "low");
  t.is(sent.body["max_tokens"], 50);
  const b = await balance(tp, secret);
  t.is(b.spent, costOf(res.usage!).toString());
  t.is(b.reserved, "0");
  t.is(BigInt(b.remaining), 10_000n - costOf(res.usage!));
  t.is(b.status, "open");
});

test.serial(
  "streaming completion with include_usage: chunks relayed, usage chunk last, billed exactly",
  async (t) => {
    const secret = tp.open(10_000n);
    const stream = await tp.client(secret).chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    t.is(text, "one two three four five");
    t.truthy(usage);
    const b = await balance(tp, secret);
    t.is(b.spent, costOf(usage!).toString());
    t.is(b.reserved, "0");
  },
);

test.serial(
  "streaming without include_usage: the proxy asks upstream for usage, bills it, hides the usage chunk",
  async (t) => {
    const secret = tp.open(10_000n);
    const before = mock.requests.length;
    const stream = await tp.client(secret).chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "no usage for me" }],
      stream: true,
    });
    let sawEmptyChoices = false;
    for await (const chunk of stream) if (chunk.choices.length === 0) sawEmptyChoices = true;
    t.false(sawEmptyChoices);
    t.deepEqual(mock.requests[before]!.body["stream_options"], { include_usage: true });
    t.truthy(mock.requests[before]!.body["max_tokens"], "a default max_tokens cap is forwarded");
    const b = await balance(tp, secret);
    t.is(b.spent, costOf(mock.billed.at(-1)!).toString());
  },
);

test.serial(
  "tool-call round trip: streamed tool_calls keep their index, then the tool result is answered",
  async (t) => {
    const secret = tp.open(100_000n);
    const client = tp.client(secret);
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
    const before = mock.requests.length;
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages,
      tools,
      tool_choice: "auto",
      stream: true,
    });
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
        t.is(typeof tc.index, "number");
        calls[tc.index] ??= { id: "", name: "", arguments: "" };
        const call = calls[tc.index]!;
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name = tc.function.name;
        call.arguments += tc.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    t.is(finish, "tool_calls");
    t.is(calls.length, 1);
    t.is(calls[0]!.name, "get_weather");
    t.deepEqual(JSON.parse(calls[0]!.arguments), { city: "Paris" });
    t.deepEqual(mock.requests[before]!.body["tools"], tools);
    t.is(mock.requests[before]!.body["tool_choice"], "auto");

    messages.push({
      role: "assistant",
      content: null,
      tool_calls: [
        {
          id: calls[0]!.id,
          type: "function",
          function: { name: "get_weather", arguments: calls[0]!.arguments },
        },
      ],
    });
    messages.push({ role: "tool", tool_call_id: calls[0]!.id, content: '{"temp_c":21}' });
    const answer = await client.chat.completions.create({ model: "mock-model", messages, tools });
    t.is(answer.choices[0]!.finish_reason, "stop");
    t.is(answer.choices[0]!.message.content, "one two three four five");
    const b = await balance(tp, secret);
    t.is(b.spent, (costOf(mock.billed.at(-2)!) + costOf(answer.usage!)).toString());
  },
);

test.serial("local demo model: streams, reports usage, emits a tool call when tools are given", async (t) => {
  const secret = tp.open(1_000_000n);
  const client = tp.client(secret);
  const plain = await client.chat.completions.create({
    model: "demo-local",
    messages: [{ role: "user", content: "hello" }],
  });
  t.regex(plain.choices[0]!.message.content ?? "", /^Demo reply \(local model, not an AI\)/);
  const stream = await client.chat.completions.create({
    model: "demo-local",
    messages: [{ role: "user", content: "Paris" }],
    tools: [
      {
        type: "function",
        function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } },
      },
    ],
    stream: true,
    stream_options: { include_usage: true },
  });
  let args = "";
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    args += chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? "";
    usage = chunk.usage ?? usage;
  }
  t.deepEqual(JSON.parse(args), { q: "Paris" });
  t.truthy(usage);
  t.is((await balance(tp, secret)).spent, (costOf(plain.usage!) + costOf(usage!)).toString());
});

test.serial(
  "local demo model: valid JSON for json_object, schema-shaped json_schema, n choices, markdown with a code block, reasoning deltas",
  async (t) => {
    const secret = tp.open(1_000_000n);
    const client = tp.client(secret);
    const json = await client.chat.completions.create({
      model: "demo-local",
      messages: [{ role: "user", content: 'answer in JSON "please"' }],
      response_format: { type: "json_object" },
    });
    t.like(JSON.parse(json.choices[0]!.message.content!), { you_said: 'answer in JSON "please"' });
    const schema = {
      type: "object",
      properties: {
        city: { type: "string" },
        days: { type: "integer", minimum: 2 },
        sunny: { type: "boolean" },
      },
      required: ["city", "days", "sunny"],
      additionalProperties: false,
    };
    const shaped = await client.chat.completions.create({
      model: "demo-local",
      messages: [{ role: "user", content: "plan a trip" }],
      response_format: { type: "json_schema", json_schema: { name: "trip", schema, strict: true } },
      stream: true,
    });
    let shapedText = "";
    for await (const chunk of shaped) shapedText += chunk.choices[0]?.delta?.content ?? "";
    const trip = JSON.parse(shapedText) as Record<string, unknown>;
    t.deepEqual(Object.keys(trip), ["city", "days", "sunny"]);
    t.is(typeof trip["city"], "string");
    t.is(trip["days"], 2);
    t.is(trip["sunny"], true);

    const many = await client.chat.completions.create({
      model: "demo-local",
      messages: [{ role: "user", content: "hello" }],
      n: 3,
    });
    t.deepEqual(
      many.choices.map((c) => c.index),
      [0, 1, 2],
    );
    t.not(many.choices[0]!.message.content, many.choices[1]!.message.content, "choices are told apart");

    const md = await client.chat.completions.create({
      model: "demo-local",
      messages: [{ role: "user", content: "show me some markdown with code" }],
      stream: true,
      reasoning_effort: "low",
    });
    let text = "";
    let reasoning = "";
    for await (const chunk of md) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      text += delta?.content ?? "";
      reasoning += delta?.reasoning_content ?? "";
    }
    t.regex(text, /\n- a bullet point\n/, "newlines survive streaming");
    t.regex(text, /\n```js\n[^`]+\n```\n/, "a fenced code block");
    t.regex(reasoning, /demo model does not think/);
  },
);

test.serial(
  "CORS preflight of the openai SDK in a browser: x-stainless-* and attribution headers allowed",
  async (t) => {
    const requested =
      "authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os,x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,x-stainless-runtime-version,x-stainless-timeout,x-title,http-referer";
    const res = await tp.fetch("/v1/chat/completions", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": `${requested},x-evil-header`,
      },
    });
    t.is(res.status, 204);
    t.is(res.headers.get("access-control-allow-origin"), "*");
    t.deepEqual(res.headers.get("access-control-allow-headers")?.split(", "), requested.split(","));
    t.regex(res.headers.get("access-control-allow-methods") ?? "", /POST/);
  },
);

test.serial("GET /v1/models lists id, owner, context window and prices in token units", async (t) => {
  const models = await tp.client("unused-secret-123").models.list();
  const mockModel = models.data.find((m) => m.id === "mock-model") as unknown as Record<string, unknown>;
  t.is(mockModel["owned_by"], "mock");
  t.is(mockModel["context_window"], 16384);
  t.deepEqual(mockModel["pricing"], {
    unit: "token base units per 1M tokens",
    input: "1000000",
    output: "2000000",
  });
});

test.serial("the store, not the chain, is read after first sight", async (t) => {
  const secret = tp.open(10_000n);
  const views = tp.chain.views;
  await balance(tp, secret);
  await balance(tp, secret);
  await tp
    .client(secret)
    .chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] });
  t.is(tp.chain.views, views + 1);
});

test.serial(
  "seed-compat routes: /proxy-openai takes the secret as conversation_id, /refund-conversation refunds",
  async (t) => {
    const secret = tp.open(10_000n);
    const res = await tp.fetch("/proxy-openai", {
      method: "POST",
      body: JSON.stringify({
        conversation_id: secret,
        messages: [{ role: "user", content: "seed" }],
        model: "mock-model",
      }),
    });
    t.is(res.status, 200);
    const json = (await res.json()) as OpenAI.ChatCompletion;
    t.is(json.choices[0]!.message.content, "one two three four five");
    const refund = await tp.fetch("/refund-conversation", {
      method: "POST",
      body: JSON.stringify({ conversation_id: secret }),
    });
    t.is(refund.status, 200);
    const signed = (await refund.json()) as { refund_message: string; signature: string };
    t.is(JSON.parse(signed.refund_message).refund_amount, (10_000n - costOf(json.usage!)).toString());
  },
);

test.serial("healthz and prometheus metrics", async (t) => {
  const health = await tp.fetch("/healthz");
  t.deepEqual(await health.json(), { status: "ok" });
  const metrics = await (await tp.fetch("/metrics")).text();
  for (const name of [
    "aiproxy_requests_total",
    "aiproxy_request_duration_seconds",
    "aiproxy_tokens_total",
    "aiproxy_upstream_errors_total",
    "aiproxy_active_streams",
  ]) {
    t.true(metrics.includes(name), name);
  }
  t.regex(metrics, /aiproxy_tokens_total\{model="mock-model",kind="output"\} \d+/);
});

test.serial(
  "streaming over HTTP (direct ServerResponse path): CORS and SSE headers, events intact, settled when the body ends",
  async (t) => {
    const secret = tp.open(10_000n);
    const res = await tp.fetch("/v1/chat/completions", {
      secret,
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://app.example" },
      body: JSON.stringify({
        model: "mock-model",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        max_tokens: 50,
      }),
    });
    t.is(res.status, 200);
    t.is(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    t.is(
      res.headers.get("access-control-allow-origin"),
      "*",
      "CORS middleware headers reach a direct stream",
    );
    const text = await res.text();
    const events = text.split("\n\n").filter(Boolean);
    t.is(events.at(-1), "data: [DONE]");
    const content = events
      .slice(0, -1)
      .map(
        (e) => JSON.parse(e.slice("data: ".length)) as { choices: Array<{ delta?: { content?: string } }> },
      )
      .map((c) => c.choices[0]?.delta?.content ?? "")
      .join("");
    t.is(content, "one two three four five");
    t.false(text.includes('"usage":{'), "the injected usage chunk is hidden from a client that did not ask");
    // The stream ends only after its settlement: the balance is final as soon as the body is read.
    const b = await balance(tp, secret);
    t.is(b.spent, String(costOf(mock.billed.at(-1)!)));
    t.is(b.reserved, "0");
  },
);
