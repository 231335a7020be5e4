// Native forwarding of the other OpenAI endpoints to a provider that declares them (apis: [responses,
// embeddings, completions]) with the official openai client against the mock upstream; metering from
// the upstream's own usage, usage.cost and the balance headers.
import test from "ava";
import type OpenAI from "openai";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { balance, startTestProxy, type TestProxy } from "./helpers/proxy.js";

let mock: MockUpstream;
let tp: TestProxy;

test.before(async () => {
  mock = await startMockUpstream({ reply: "one two three" });
  tp = await startTestProxy(mock.url, {
    providers: [
      {
        name: "mock",
        type: "openai-compatible",
        base_url: mock.url,
        apis: ["responses", "embeddings", "completions"],
      },
      { name: "plain", type: "openai-compatible", base_url: mock.url, apis: [] },
    ],
    models: [
      { id: "mock-model", input_price: "1000000", output_price: "2000000", providers: ["mock"] },
      { id: "plain-model", input_price: "1000000", output_price: "2000000", providers: ["plain"] },
    ],
  });
});
test.after.always(async () => {
  await tp?.stop();
  await mock?.close();
});

const cost = (input: number, output: number) => BigInt(input) + 2n * BigInt(output);
/** What the mock billed for its latest answer, at the test prices. */
const billed = (back = 1) => {
  const u = mock.billed.at(-back)!;
  return cost(u.prompt_tokens, u.completion_tokens);
};

test.serial(
  "native /responses: forwarded as-is (max_output_tokens injected), JSON and stream billed from its usage",
  async (t) => {
    const secret = tp.open(10_000n);
    const client = tp.client(secret);
    const json = await client.responses.create({ model: "mock-model", input: "hi" }).withResponse();
    const sent = mock.requests.at(-1)!;
    t.true(sent.path.endsWith("/responses"));
    t.is(sent.body["input"], "hi");
    t.is(typeof sent.body["max_output_tokens"], "number", "the reservation's cap goes upstream");
    t.is(json.data.output_text, "one two three");
    const usage = json.data.usage as OpenAI.Responses.ResponseUsage & { cost?: string };
    t.is(usage.cost, billed().toString());
    t.is(json.response.headers.get("x-aiproxy-cost"), usage.cost ?? null);
    const stream = await client.responses.create({ model: "mock-model", input: "hi", stream: true });
    let text = "";
    let final: (OpenAI.Responses.ResponseUsage & { cost?: string }) | undefined;
    for await (const e of stream) {
      if (e.type === "response.output_text.delta") text += e.delta;
      if (e.type === "response.completed") final = e.response.usage as never;
    }
    t.is(text, "one two three");
    t.is(final?.cost, billed().toString());
    const b = await balance(tp, secret);
    t.deepEqual([b.spent, b.reserved], [(billed(2) + billed()).toString(), "0"]);
    const refused = await tp.fetch("/v1/responses", {
      secret,
      method: "POST",
      body: JSON.stringify({ model: "mock-model", input: "x", previous_response_id: "resp_1" }),
    });
    t.is(refused.status, 400);
    t.regex(((await refused.json()) as { error: { message: string } }).error.message, /cannot be forwarded/);
  },
);

test.serial(
  "embeddings and legacy completions forwarded; a provider without them answers 404 naming the alternatives",
  async (t) => {
    const secret = tp.open(10_000n);
    const client = tp.client(secret);
    const emb = await client.embeddings.create({ model: "mock-model", input: "x", encoding_format: "float" });
    t.deepEqual(emb.data[0]!.embedding, [0.6, 0.8]);
    t.is((emb.usage as unknown as { cost: string }).cost, billed().toString());
    const done = await client.completions.create({ model: "mock-model", prompt: "say" });
    t.is(done.choices[0]!.text, "one two three");
    t.is((done.usage as unknown as { cost: string }).cost, billed().toString());
    t.is((await balance(tp, secret)).spent, (billed(2) + billed()).toString());

    for (const [path, body] of [
      ["/v1/completions", { model: "plain-model", prompt: "x" }],
      ["/v1/embeddings", { model: "plain-model", input: "x" }],
    ] as const) {
      const res = await tp.fetch(path, { secret, method: "POST", body: JSON.stringify(body) });
      t.is(res.status, 404, path);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      t.is(error.code, "endpoint_not_supported");
      if (path === "/v1/completions")
        t.regex(error.message, /POST \/v1\/chat\/completions or POST \/v1\/responses/);
    }
    // plain-model has no native /responses: translated to chat completions instead.
    const translated = await client.responses.create({ model: "plain-model", input: "hi" });
    t.is(translated.output_text, "one two three");
    t.true(mock.requests.at(-1)!.path.endsWith("/chat/completions"));
    t.is((await balance(tp, secret)).reserved, "0");
    t.is(
      (await client.responses.retrieve(translated.id)).output_text,
      "one two three",
      "stored, retrievable",
    );
  },
);

test.serial(
  "stored responses belong to their conversation: another secret can neither read nor continue them",
  async (t) => {
    const owner = tp.client(tp.open(10_000n));
    const stranger = tp.open(10_000n);
    const stored = await owner.responses.create({ model: "plain-model", input: "private" });
    const read = await tp.fetch(`/v1/responses/${stored.id}`, { secret: stranger });
    t.is(read.status, 404);
    const itemId = stored.output[0]!.id!;
    for (const body of [
      { model: "plain-model", previous_response_id: stored.id, input: "go on" },
      { model: "plain-model", input: [{ type: "item_reference", id: itemId }] },
    ]) {
      const res = await tp.fetch("/v1/responses", {
        secret: stranger,
        method: "POST",
        body: JSON.stringify(body),
      });
      t.is(res.status, 400);
      t.regex(
        ((await res.json()) as { error: { code: string } }).error.code,
        /previous_response_not_found|item_not_found/,
      );
    }
    t.is((await balance(tp, stranger)).spent, "0", "nothing was served, nothing billed");
    // The owner continues it: the stored turn is part of the new prompt (and of its reservation).
    const before = mock.requests.length;
    await owner.responses.create({ model: "plain-model", previous_response_id: stored.id, input: "go on" });
    const sent = mock.requests[before]!.body["messages"] as Array<{ role: string; content: string }>;
    t.deepEqual(
      sent.map((m) => [m.role, m.content]),
      [
        ["user", "private"],
        ["assistant", "one two three"],
        ["user", "go on"],
      ],
    );
  },
);

test.serial(
  "T18 inputs the proxy cannot bound are refused before anything is reserved: background, stored conversation or prompt, token-array prompts",
  async (t) => {
    const secret = tp.open(10_000n);
    const before = mock.requests.length;
    for (const [path, body, param] of [
      ["/v1/responses", { model: "mock-model", input: "x", background: true }, "background"],
      ["/v1/responses", { model: "mock-model", input: "x", conversation: "conv_1" }, "conversation"],
      ["/v1/responses", { model: "mock-model", prompt: { id: "pmpt_1" } }, "prompt"],
      // 2000 tokens in 4000 characters of JSON: a chars/3 estimate would reserve only 1334 of them.
      ["/v1/completions", { model: "mock-model", prompt: Array.from({ length: 2000 }, () => 1) }, "prompt"],
    ] as const) {
      const res = await tp.fetch(path, { secret, method: "POST", body: JSON.stringify(body) });
      t.is(res.status, 400, `${path} ${param}`);
      t.is(((await res.json()) as { error: { param: string } }).error.param, param);
    }
    t.is(mock.requests.length, before, "nothing reached the upstream");
    const b = await balance(tp, secret);
    t.deepEqual([b.spent, b.reserved], ["0", "0"]);
  },
);

test.serial(
  "an upstream stream of odd JSON shapes neither crashes the proxy nor escapes billing (chat and Responses)",
  async (t) => {
    const { createServer } = await import("node:http");
    const odd = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write('data: {"id":"odd","choices":5}\n\n');
        res.write(
          'data: {"id":"odd","choices":[null,{"index":0,"delta":{"content":7,"tool_calls":"x"}}]}\n\n',
        );
        res.write('data: {"id":"odd","choices":[{"index":0,"delta":{"content":"fine"}}]}\n\n');
        res.write('data: {"id":"odd","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1}}\n\n');
        res.end("data: [DONE]\n\n");
      });
    });
    await new Promise<void>((resolve) => odd.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(odd.address() as import("node:net").AddressInfo).port}/v1`;
    const oddProxy = await startTestProxy(url, {});
    try {
      const secret = oddProxy.open(10_000n);
      const client = oddProxy.client(secret);
      const chat = await client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      });
      for await (const _ of chat) {
        // drain
      }
      const responses = await client.responses.create({ model: "mock-model", input: "x", stream: true });
      let text = "";
      for await (const e of responses) if (e.type === "response.output_text.delta") text += e.delta;
      t.is(text, "fine");
      t.is((await oddProxy.fetch("/healthz")).status, 200, "still serving");
      const b = await balance(oddProxy, secret);
      t.deepEqual([b.spent, b.reserved], [(2n * cost(4, 1)).toString(), "0"]);
    } finally {
      await oddProxy.stop();
      odd.close();
    }
  },
);
