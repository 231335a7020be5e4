// Pure pieces of metering and scrubbing, without a proxy: the secret scrubber, the request-field
// allowlist, the no-usage output count, the prompt bound and when the quote reaches for the tokenizer.
import test from "ava";
import { REDACTED, Scrubber, scrubKeyFormats } from "#internal/proxy/secrets/index";

test("scrubber: by value in any text, a value split across stream chunks is still caught", (t) => {
  const s = new Scrubber(["0123456789abcdef0123456789abcdef", "short", undefined, "sk-live-zzzzzzzzzz"]);
  t.is(s.values("a 0123456789abcdef0123456789abcdef b"), `a ${REDACTED} b`);
  t.is(s.values("short is not scrubbed"), "short is not scrubbed", "values under 8 characters are ignored");
  const stream = s.stream();
  const parts = ["data: x sk-li", "ve-zzz", "zzzzzzz end\n\n"].map((p) => Buffer.from(p));
  const out = Buffer.concat([
    ...parts.map((p) => stream.push(p)),
    stream.end() ?? Buffer.alloc(0),
  ]).toString();
  t.is(out, `data: x ${REDACTED} end\n\n`);
  const plain = s.stream();
  const chunk = Buffer.from('data: {"a":1}\n\n');
  t.is(plain.push(chunk).length, chunk.length, "an SSE chunk ending in a newline is passed on whole");
});

test("scrubber: key formats in error and log text, not in answers", (t) => {
  t.is(scrubKeyFormats("key sk-proj-abcdefghijkl here"), `key ${REDACTED} here`);
  t.is(scrubKeyFormats("azure 3f9c2a7be41d4c0a9e8b7f6a5d4c3b2a."), `azure ${REDACTED}.`);
  t.is(scrubKeyFormats("Authorization: Bearer abc.def"), `Authorization: Bearer ${REDACTED}`);
  const conversation = "a".repeat(64);
  t.is(scrubKeyFormats(`conversation ${conversation}`), `conversation ${conversation}`, "64-hex ids stay");
  const s = new Scrubber([]);
  t.is(s.values("md5 3f9c2a7be41d4c0a9e8b7f6a5d4c3b2a"), "md5 3f9c2a7be41d4c0a9e8b7f6a5d4c3b2a");
});

test("bound: bytes and o200k bounds are never below a provider's count, whatever the script", async (t) => {
  const { promptTokensBound, OPENAI_OVERHEAD, TEMPLATE_OVERHEAD } = await import(
    "#internal/proxy/metering/bound"
  );
  const { GPT_4O_IMAGES, DEFAULT_AUDIO } = await import("#internal/proxy/metering/media");
  const { bytesCounter, loadTokenizers, tokenCounter } = await import("#internal/proxy/metering/tokens");
  const { promptTokensOf } = await import("./helpers/provider-billing.js");
  await loadTokenizers(["o200k_base"]);
  const o200k = tokenCounter("o200k_base");
  const samples = [
    "hello world",
    "日本語のテキスト、そして𠀀𠀁𠀂",
    "👨‍👩‍👧‍👦🎉🧑🏽‍🚀",
    "a\u0301\u0302\u0303e\u0308",
    "<|endoftext|><|im_start|>",
    "x".repeat(5000),
    "مرحبا بالعالم",
  ];
  for (const text of samples) {
    const body = { messages: [{ role: "user", content: text, name: "bob" }] };
    const provider = promptTokensOf(body, { mockUrl: "" });
    for (const [counter, overhead] of [
      [bytesCounter, TEMPLATE_OVERHEAD],
      [o200k, OPENAI_OVERHEAD],
    ] as const) {
      const bound = promptTokensBound(
        body,
        { overhead, images: GPT_4O_IMAGES, audio: DEFAULT_AUDIO },
        counter,
      );
      t.true(
        bound >= provider,
        `${counter.name}: ${bound} >= ${provider} for ${JSON.stringify(text.slice(0, 20))}`,
      );
    }
  }
});

test("fields: billing knobs are refused, the allowlist is the intersection of a model's providers", async (t) => {
  const { allowedFields, forwardedFields, OPENAI_CHAT_FIELDS } = await import(
    "#internal/proxy/metering/fields"
  );
  const allowed = allowedFields([[...OPENAI_CHAT_FIELDS, "top_k"], OPENAI_CHAT_FIELDS]);
  t.false(allowed.has("top_k"), "a fallback provider that does not take it removes it");
  const body = { model: "m", messages: [], temperature: 1 };
  t.is(forwardedFields(body, allowed, "reject"), body, "no copy when everything is allowed");
  t.throws(() => forwardedFields({ ...body, best_of: 4 }, allowed, "drop"), { message: /best_of/ });
  t.deepEqual(forwardedFields({ ...body, junk: 1 }, allowed, "drop"), body);
  t.deepEqual(forwardedFields({ ...body, stream_options: { include_usage: true, x: 1 } }, allowed, "drop"), {
    ...body,
    stream_options: { include_usage: true },
  });
});

test("output: every delta string counts (reasoning, refusal, tool and function arguments, audio), never fewer than the deltas", async (t) => {
  const { ProducedOutput, producedTokens } = await import("#internal/proxy/metering/output");
  const { bytesCounter } = await import("#internal/proxy/metering/tokens");
  const p = new ProducedOutput();
  p.add({ choices: [{ index: 0, delta: { role: "assistant", reasoning_content: "abc" } }] });
  p.add({ choices: [{ index: 0, delta: { refusal: "no" } }] });
  p.add({
    choices: [
      {
        index: 0,
        delta: { tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "{}" } }] },
      },
    ],
  });
  p.add({ choices: [{ index: 0, delta: { function_call: { arguments: "xy" } } }] });
  p.add({ choices: [{ index: 0, delta: { audio: { transcript: "hey" } } }] });
  p.add({ choices: [{ index: 0, delta: {} }] });
  t.deepEqual(p.texts, ["abc", "no", "f", "{}", "xy", "hey"]);
  t.is(p.deltas, 5);
  t.is(producedTokens(p, bytesCounter), 13);
});

test("quote: the tokenizer stays off the common path; it counts only when the byte bound does not fit the free balance", async (t) => {
  const { quote, meteringOf } = await import("#internal/proxy/metering/reservation");
  const { priceOf } = await import("#internal/proxy/metering/prices");
  const { loadTokenizers } = await import("#internal/proxy/metering/tokens");
  const { parseConfig } = await import("#internal/proxy/config");
  await loadTokenizers(["o200k_base"]);
  const [model] = parseConfig({
    models: [{ id: "gpt-4o", input_price: "1000000", output_price: "1000000", providers: ["local"] }],
  }).models;
  const counter = meteringOf(model!).counter;
  t.is(counter.name, "o200k_base");
  const count = counter.count;
  let calls = 0;
  (counter as { count: (s: string) => number }).count = (s) => {
    calls++;
    return count(s);
  };
  const body = {
    messages: [{ role: "user", content: "the quick brown fox jumps over the lazy dog ".repeat(700) }],
    max_tokens: 10,
  };
  const state = (deposit: bigint) => ({
    conversation_id: "c",
    receiver_id: "r",
    deposit,
    spent: 0n,
    reserved: 0n,
    status: "open" as const,
    created_at: 0,
  });
  const price = priceOf(model!);
  const common = quote(body, model!, price, state(10_000_000n), { defaultMaxTokens: 1024 });
  t.false(common.exact);
  t.is(calls, 0, "a conversation that can pay the byte bound is never tokenized");
  t.true(common.promptTokens >= Buffer.byteLength(body.messages[0]!.content));
  const last = quote(body, model!, price, state(common.amount - 1n), { defaultMaxTokens: 1024 });
  t.true(last.exact);
  t.true(calls > 0);
  t.true(last.amount < common.amount / 3n, `exact ${last.amount} vs byte bound ${common.amount}`);
  (counter as { count: (s: string) => number }).count = count;
});
