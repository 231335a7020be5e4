// Every OpenAI surface with the UNMODIFIED clients against localnet + the proxy: the official `openai`
// SDK (Responses JSON, stream, a function-call round trip; embeddings; in Chromium with
// dangerouslyAllowBrowser), the Vercel AI SDK's default provider (which calls /v1/responses), and
// LangChain's withStructuredOutput in its default mode. Each client spends its own on-chain
// conversation; every answer's usage.cost must be its usage at the model's price, the conversation's
// spent the sum of those, and refund_unspent on chain must pay back exactly deposit - spent.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import test from "ava";
import { build } from "esbuild";
import OpenAI from "openai";
import { z } from "zod";
import { parseConfig } from "#internal/proxy/config";
import { createLogger } from "#internal/proxy/logger";
import { type RunningProxy, startProxy } from "#internal/proxy/server";
import { launchChromium, requireChromium } from "./helpers/browser.js";
import { type NearConversation, type NearStack, startNearStack } from "./helpers/near-stack.js";

// demo-local: 1 unit per input token, 2 per output token.
const price = (input: number, output: number) => BigInt(input) + 2n * BigInt(output);

let stack: NearStack;
let proxy: RunningProxy;
let page: Server;
let pageOrigin: string;

test.before(async () => {
  stack = await startNearStack();
  page = createServer();
  await new Promise<void>((resolve) => page.listen(0, "127.0.0.1", resolve));
  pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  proxy = await startProxy(
    parseConfig({
      mode: "production",
      cors_origins: [pageOrigin],
      port: 0,
      store: { path: ":memory:" },
      chain: { type: "near", rpc_url: stack.rpcUrl, contract_id: stack.token.accountId },
      models: [{ id: "demo-local", input_price: "1000000", output_price: "2000000", providers: ["local"] }],
    }),
    {
      env: { ...process.env, AIPROXY_REFUND_SIGNER_KEY: stack.refundSigner.privateKey },
      logger: createLogger("warn"),
    },
  );
});
test.after.always(async () => {
  await proxy?.stop(2000).catch(() => {});
  page?.close();
  await stack?.close().catch(() => {});
});

async function spent(c: NearConversation): Promise<bigint> {
  const res = await fetch(`${proxy.url}/v1/conversations/current`, {
    headers: { authorization: `Bearer ${c.secret}` },
  });
  const view = (await res.json()) as { spent: string; reserved: string };
  if (view.reserved !== "0") throw new Error(`still reserved: ${view.reserved}`);
  return BigInt(view.spent);
}

/** Refund through the proxy, paid on chain: the receiver gets exactly deposit - spent. */
async function refundExactly(t: import("ava").ExecutionContext, c: NearConversation, expectedSpent: bigint) {
  t.is(await spent(c), expectedSpent, "the conversation spent exactly the sum of the answers' costs");
  const before = await stack.balanceOf(c.receiver);
  const signed = (await (
    await fetch(`${proxy.url}/v1/conversations/refund`, {
      method: "POST",
      headers: { authorization: `Bearer ${c.secret}` },
    })
  ).json()) as { refund_message: string; signature: string };
  t.is(JSON.parse(signed.refund_message).refund_amount, (c.deposit - expectedSpent).toString());
  const result = await c.receiver.callRaw(stack.token, "refund_unspent", signed);
  t.true(result.succeeded, JSON.stringify(result.Failure));
  t.is(await stack.balanceOf(c.receiver), before + c.deposit - expectedSpent, "refund exact on chain");
}

test.serial(
  "openai responses.create: JSON, stream, a function-call round trip; embeddings.create",
  async (t) => {
    const c = await stack.open(100_000n);
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: c.secret, maxRetries: 0 });
    let total = 0n;
    const cost = (u: { input_tokens: number; output_tokens: number; cost?: unknown } | undefined) => {
      t.truthy(u);
      const expected = price(u!.input_tokens, u!.output_tokens);
      t.is(u!.cost, expected.toString(), "usage.cost is the usage at the model's price");
      total += expected;
    };

    const json = await client.responses.create({
      model: "demo-local",
      instructions: "be brief",
      input: "hello",
    });
    t.is(json.object, "response");
    t.is(json.status, "completed");
    t.regex(json.output_text, /^Demo reply \(local model, not an AI\): you said hello/);
    cost(json.usage as never);

    const stream = await client.responses.create({ model: "demo-local", input: "stream this", stream: true });
    const types: string[] = [];
    let text = "";
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") completed = event.response;
    }
    t.deepEqual(types.slice(0, 4), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    t.deepEqual(types.slice(-4), [
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    t.regex(text, /you said stream this/);
    cost(completed?.usage as never);

    // The SDK's own stream helper rebuilds the response from the events (it throws on a wrong order).
    const helper = client.responses.stream({
      model: "demo-local",
      input: "think first",
      reasoning: { effort: "low" },
    });
    const rebuilt = await helper.finalResponse();
    t.deepEqual(
      rebuilt.output.map((o) => o.type),
      ["reasoning", "message"],
    );
    t.regex(rebuilt.output_text, /you said think first/);
    t.regex((rebuilt.output[0] as OpenAI.Responses.ResponseReasoningItem).summary[0]!.text, /does not think/);
    cost(rebuilt.usage as never);

    const tools: OpenAI.Responses.Tool[] = [
      {
        type: "function",
        name: "get_weather",
        strict: true,
        parameters: {
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
          additionalProperties: false,
        },
      },
    ];
    const first = await client.responses.create({ model: "demo-local", input: "Paris", tools });
    const call = first.output.find((o) => o.type === "function_call");
    t.truthy(call);
    t.deepEqual(JSON.parse((call as OpenAI.Responses.ResponseFunctionToolCall).arguments), { city: "Paris" });
    cost(first.usage as never);
    const second = await client.responses.create({
      model: "demo-local",
      previous_response_id: first.id,
      tools,
      input: [
        {
          type: "function_call_output",
          call_id: (call as OpenAI.Responses.ResponseFunctionToolCall).call_id,
          output: "sunny, 21 C",
        },
      ],
    });
    t.regex(second.output_text, /you said tool result sunny, 21 C/);
    cost(second.usage as never);
    const unknown = await client.responses
      .create({ model: "demo-local", previous_response_id: "resp_nope", input: "x" })
      .catch((e: unknown) => e);
    t.true(unknown instanceof OpenAI.BadRequestError);
    t.regex((unknown as Error).message, /previous response 'resp_nope' is not known/);

    const emb = await client.embeddings.create({ model: "demo-local", input: ["one", "two"] }).withResponse();
    t.is(emb.data.data.length, 2);
    t.is(emb.data.data[0]!.embedding.length, 64);
    const embUsage = emb.data.usage as typeof emb.data.usage & { cost?: string };
    t.is(embUsage.cost, price(embUsage.prompt_tokens, 0).toString());
    t.is(emb.response.headers.get("x-aiproxy-cost"), embUsage.cost ?? null);
    total += price(embUsage.prompt_tokens, 0);
    t.is(BigInt(emb.response.headers.get("x-aiproxy-balance-remaining")!), c.deposit - total);
    t.is(emb.response.headers.get("x-aiproxy-balance-reserved"), "0");

    await refundExactly(t, c, total);
  },
);

test.serial(
  "Vercel AI SDK default provider (/v1/responses): generateText, streamText, a tool call",
  async (t) => {
    const c = await stack.open(100_000n);
    // The client's own fetch, watched: what the AI SDK sends is checked below.
    const sent: Array<{ input?: Array<{ type?: string }> }> = [];
    const openai = createOpenAI({
      baseURL: `${proxy.url}/v1`,
      apiKey: c.secret,
      fetch: (url, init) => {
        if (typeof init?.body === "string") sent.push(JSON.parse(init.body));
        return fetch(url, init);
      },
    });
    const model = openai("demo-local");
    let total = 0n;
    const add = (u: { inputTokens?: number; outputTokens?: number }) => {
      total += price(u.inputTokens ?? 0, u.outputTokens ?? 0);
    };

    const generated = await generateText({ model, prompt: "hello from the AI SDK" });
    t.regex(generated.text, /you said hello from the AI SDK/);
    add(generated.usage);

    const streamed = streamText({ model, prompt: "stream from the AI SDK" });
    let text = "";
    for await (const delta of streamed.textStream) text += delta;
    t.regex(text, /you said stream from the AI SDK/);
    add(await streamed.usage);

    // A second turn the way useChat sends it: the first answer comes back as an item_reference (the
    // AI SDK's default store: true), resolved from the proxy's stored response.
    const second = await generateText({
      model,
      messages: [
        { role: "user", content: "hello from the AI SDK" },
        ...generated.response.messages,
        { role: "user", content: "and again" },
      ],
    });
    t.regex(second.text, /you said and again/);
    t.true(
      sent.at(-1)!.input!.some((item) => item.type === "item_reference"),
      "the earlier answer was sent as an item_reference and resolved by the proxy",
    );
    add(second.usage);

    const seen: string[] = [];
    const withTool = await generateText({
      model,
      prompt: "Paris",
      tools: {
        weather: tool({
          description: "the weather in a city",
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            seen.push(city);
            return `sunny in ${city}`;
          },
        }),
      },
      stopWhen: stepCountIs(2),
    });
    t.deepEqual(seen, ["Paris"], "the tool was called with the model's arguments");
    t.is(withTool.steps.length, 2);
    t.regex(withTool.text, /you said tool result/);
    for (const step of withTool.steps) add(step.usage);

    await refundExactly(t, c, total);
  },
);

test.serial(
  "LangChain withStructuredOutput (default mode) parses the demo model's schema-shaped answer",
  async (t) => {
    const c = await stack.open(100_000n);
    const llm = new ChatOpenAI({
      model: "demo-local",
      apiKey: c.secret,
      configuration: { baseURL: `${proxy.url}/v1` },
      maxRetries: 0,
    });
    const Trip = z.object({ city: z.string(), days: z.number().int().min(2), sunny: z.boolean() });
    const structured = llm.withStructuredOutput(Trip, { includeRaw: true });
    const started = Date.now();
    const { parsed, raw } = await structured.invoke("plan a trip to Paris");
    t.true(Date.now() - started < 60_000, "no retry loop"); // a loop would not end at all; 60 s allows a loaded machine
    t.is(typeof parsed.city, "string");
    t.is(parsed.days, 2);
    t.is(parsed.sunny, true);
    const usage = (raw as { usage_metadata?: { input_tokens: number; output_tokens: number } })
      .usage_metadata!;
    await refundExactly(t, c, price(usage.input_tokens, usage.output_tokens));
  },
);

test.serial(
  "the openai SDK in Chromium (dangerouslyAllowBrowser): chat stream and Responses through CORS",
  async (t) => {
    requireChromium();
    const c = await stack.open(100_000n);
    const bundle = await build({
      stdin: { contents: 'import OpenAI from "openai"; window.OpenAI = OpenAI;', resolveDir: process.cwd() },
      bundle: true,
      platform: "browser",
      format: "iife",
      write: false,
    });
    const script = bundle.outputFiles[0]!.text;
    page.on("request", (req, res) => {
      if (req.url === "/openai.js") {
        res.writeHead(200, { "content-type": "text/javascript" });
        res.end(script);
        return;
      }
      res.writeHead(200, { "content-type": "text/html" });
      res.end('<!doctype html><script src="/openai.js"></script>');
    });
    const browser = await launchChromium();
    try {
      const tab = await browser.context.newPage();
      await tab.goto(pageOrigin);
      const out = await tab.evaluate(
        async ({ baseURL, apiKey }) => {
          const OpenAI = (window as unknown as { OpenAI: typeof import("openai").default }).OpenAI;
          const client = new OpenAI({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 });
          const stream = await client.chat.completions.create({
            model: "demo-local",
            messages: [{ role: "user", content: "hi from a browser" }],
            stream: true,
            stream_options: { include_usage: true },
          });
          let text = "";
          let usage: unknown;
          for await (const chunk of stream) {
            text += chunk.choices[0]?.delta?.content ?? "";
            usage = chunk.usage ?? usage;
          }
          const { data, response } = await client.responses
            .create({ model: "demo-local", input: "and a response" })
            .withResponse();
          return {
            text,
            usage,
            responseText: data.output_text,
            responseUsage: data.usage,
            remaining: response.headers.get("x-aiproxy-balance-remaining"),
          };
        },
        { baseURL: `${proxy.url}/v1`, apiKey: c.secret },
      );
      t.regex(out.text, /you said hi from a browser/);
      t.regex(out.responseText, /you said and a response/);
      const u1 = out.usage as { prompt_tokens: number; completion_tokens: number; cost: string };
      const u2 = out.responseUsage as unknown as {
        input_tokens: number;
        output_tokens: number;
        cost: string;
      };
      t.is(u1.cost, price(u1.prompt_tokens, u1.completion_tokens).toString());
      t.is(u2.cost, price(u2.input_tokens, u2.output_tokens).toString());
      const total = BigInt(u1.cost) + BigInt(u2.cost);
      t.is(out.remaining, (c.deposit - total).toString(), "balance header readable from the page (exposed)");
      // Production mode: an origin that is not listed gets no CORS headers.
      const other = await fetch(`${proxy.url}/v1/models`, {
        headers: { origin: "https://elsewhere.example" },
      });
      t.is(other.headers.get("access-control-allow-origin"), null);
      await refundExactly(t, c, total);
    } finally {
      await browser.close();
    }
  },
);
