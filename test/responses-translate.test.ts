// The Responses API <-> chat completions translation (pure modules), and the demo model's output
// formats. End to end with the real clients: test/proxy-surfaces.test.ts.
import test from "ava";
import { ResponsesEventWriter } from "#internal/proxy/responses/events";
import { inputMessages, parseResponsesRequest, toChatBody } from "#internal/proxy/responses/request";
import { fromChatCompletion } from "#internal/proxy/responses/response";
import { assistantMessage, ResponseStore } from "#internal/proxy/responses/store";
import { valueForSchema } from "#internal/proxy/upstreams/local/schema-value";

const frame = {
  id: "resp_1",
  created_at: 1,
  model: "m",
  echo: toChatBody(parseResponsesRequest({ model: "m", input: "x" })).echo,
};

test("request: string input, instructions, function tools, json_schema, max_output_tokens, reasoning", (t) => {
  const { chat, echo, turns } = toChatBody(
    parseResponsesRequest({
      model: "m",
      instructions: "be brief",
      input: "hi",
      tools: [
        {
          type: "function",
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      ],
      tool_choice: { type: "function", name: "get_weather" },
      text: { format: { type: "json_schema", name: "out", schema: { type: "object" }, strict: true } },
      max_output_tokens: 99,
      reasoning: { effort: "low" },
    }),
  );
  t.deepEqual(chat.messages, [
    { role: "system", content: "be brief" },
    { role: "user", content: "hi" },
  ]);
  t.deepEqual(turns, [{ role: "user", content: "hi" }], "instructions are not part of the stored turns");
  t.deepEqual(chat["tools"], [
    {
      type: "function",
      function: {
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    },
  ]);
  t.deepEqual(chat["tool_choice"], { type: "function", function: { name: "get_weather" } });
  t.deepEqual(chat["response_format"], {
    type: "json_schema",
    json_schema: { name: "out", schema: { type: "object" }, strict: true },
  });
  t.is(chat["max_completion_tokens"], 99);
  t.is(chat["reasoning_effort"], "low");
  t.is(echo.max_output_tokens, 99);
});

test("request: items with a function call round trip become assistant tool_calls + tool message", (t) => {
  const messages = inputMessages([
    { role: "user", content: [{ type: "input_text", text: "weather?" }] },
    { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
    { type: "function_call_output", call_id: "call_1", output: "sunny" },
  ]);
  t.deepEqual(messages, [
    { role: "user", content: "weather?" },
    {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      ],
    },
    { role: "tool", tool_call_id: "call_1", content: "sunny" },
  ]);
});

test("request: built-in tools and unknown item_reference are refused with a 400 naming them", (t) => {
  const tools = t.throws(() =>
    toChatBody(parseResponsesRequest({ model: "m", input: "x", tools: [{ type: "web_search" }] })),
  );
  t.regex(tools!.message, /built-in tool 'web_search' is not supported/);
  const ref = t.throws(() => inputMessages([{ type: "item_reference", id: "msg_x" }]));
  t.regex(ref!.message, /item_reference 'msg_x' is not known/);
  t.is((ref as unknown as { status: number }).status, 400);
});

test("response: completion with reasoning, text and a tool call -> output items, usage with cost", (t) => {
  const r = fromChatCompletion(
    {
      choices: [
        {
          message: {
            content: "hello",
            reasoning_content: "thinking",
            tool_calls: [{ id: "call_9", function: { name: "f", arguments: "{}" } }],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 4, completion_tokens_details: { reasoning_tokens: 2 } },
    },
    frame,
    11n,
  );
  t.deepEqual(
    r.output.map((i) => i.type),
    ["reasoning", "message", "function_call"],
  );
  t.is(r.status, "completed");
  t.like(r.usage, {
    input_tokens: 3,
    output_tokens: 4,
    total_tokens: 7,
    cost: "11",
    output_tokens_details: { reasoning_tokens: 2 },
  });
  t.deepEqual(assistantMessage(r.output), {
    role: "assistant",
    content: "hello",
    tool_calls: [{ id: "call_9", type: "function", function: { name: "f", arguments: "{}" } }],
  });
  const cut = fromChatCompletion(
    { choices: [{ message: { content: "he" }, finish_reason: "length" }] },
    frame,
  );
  t.is(cut.status, "incomplete");
  t.deepEqual(cut.incomplete_details, { reason: "max_output_tokens" });
});

test("stream: OpenAI's event order and sequence numbers for reasoning, text and a function call", (t) => {
  const events: Array<{ type: string; sequence_number: number } & Record<string, unknown>> = [];
  const w = new ResponsesEventWriter(frame, (_type, payload) => events.push(payload as never));
  w.start();
  w.chunk({ choices: [{ index: 0, delta: { reasoning_content: "hm" } }] });
  w.chunk({ choices: [{ index: 0, delta: { content: "he" } }] });
  w.chunk({ choices: [{ index: 0, delta: { content: "llo" } }] });
  w.chunk({
    choices: [
      {
        index: 0,
        delta: { tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "" } }] },
      },
    ],
  });
  w.chunk({
    choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] } }],
  });
  w.chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "1}" } }] } }] });
  w.chunk({ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] });
  const final = w.finish({ usage: { prompt_tokens: 1, completion_tokens: 2 }, cost: 5n });
  t.deepEqual(
    events.map((e) => e.type),
    [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ],
  );
  t.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  t.like(
    events.find((e) => e.type === "response.output_text.done"),
    { text: "hello", output_index: 1, content_index: 0 },
  );
  t.like(
    events.find((e) => e.type === "response.function_call_arguments.done"),
    { arguments: '{"a":1}', name: "f" },
  );
  t.is(final.status, "completed");
  t.is(final.usage?.cost, "5");
  t.deepEqual(
    final.output.map((i) => i.type),
    ["reasoning", "message", "function_call"],
  );
});

test("stream: a cut upstream ends with response.failed", (t) => {
  const types: string[] = [];
  const w = new ResponsesEventWriter(frame, (type) => types.push(type));
  w.start();
  w.chunk({ choices: [{ index: 0, delta: { content: "he" } }] });
  t.is(w.finish({ cut: true }).status, "failed");
  t.is(types.at(-1), "response.failed");
  t.true(types.includes("response.output_item.done"));
});

test("store: scoped to the conversation, bounded by count and age", (t) => {
  const store = new ResponseStore({ ttlMs: 1000, maxEntries: 2, maxBytes: 1_000_000 });
  const response = (id: string) =>
    fromChatCompletion({ choices: [{ message: { content: id } }] }, { ...frame, id });
  const a = response("resp_a");
  store.put("conv1", [{ role: "user", content: "x" }], a, 0);
  t.truthy(store.get("resp_a", "conv1", 10));
  t.is(store.get("resp_a", "conv2", 10), undefined, "another conversation cannot read it");
  t.truthy(store.item(a.output[0]!.id, "conv1", 10));
  t.is(store.item(a.output[0]!.id, "conv2", 10), undefined);
  t.is(store.get("resp_a", "conv1", 1000), undefined, "expired");
  store.put("conv1", [], response("resp_b"), 0);
  store.put("conv1", [], response("resp_c"), 0);
  store.put("conv1", [], response("resp_d"), 0);
  t.is(store.size, 2);
  t.is(store.get("resp_b", "conv1", 1), undefined, "oldest evicted");
});

test("demo structured output: values shaped by the schema ($ref, enum, anyOf, arrays, formats)", (t) => {
  const value = valueForSchema({
    type: "object",
    properties: {
      name: { type: "string" },
      age: { type: "integer", minimum: 3 },
      tags: { type: "array", items: { type: "string" }, minItems: 2 },
      kind: { enum: ["a", "b"] },
      maybe: { anyOf: [{ type: "null" }, { type: "number" }] },
      when: { type: "string", format: "date-time" },
      child: { $ref: "#/$defs/child" },
    },
    required: ["name"],
    additionalProperties: false,
    $defs: { child: { type: "object", properties: { ok: { type: "boolean" } } } },
  }) as Record<string, unknown>;
  t.is(typeof value["name"], "string");
  t.is(value["age"], 3);
  t.is((value["tags"] as unknown[]).length, 2);
  t.is(value["kind"], "a");
  t.is(typeof value["maybe"], "number");
  t.is(value["when"], "2026-01-01T00:00:00Z");
  t.deepEqual(value["child"], { ok: true });
});
