// SECURITY.md T22: no configured secret value reaches a client, a log line or an error, whatever the
// upstream echoes. The scrubber's own rules are unit-tested in metering-unit.test.ts.
import test from "ava";
import { startMockUpstream } from "./helpers/mock-upstream.js";
import { startTestProxy } from "./helpers/proxy.js";

// An Azure OpenAI key: 32 hex digits, no sk- prefix.
const AZURE_KEY = "3f9c2a7be41d4c0a9e8b7f6a5d4c3b2a";

test("T22 an upstream echoing a 32-hex Azure key (in an error, a JSON answer or a stream) never gets it to the client or the logs", async (t) => {
  const mock = await startMockUpstream({ reply: `your key is ${AZURE_KEY} ok` });
  const tp = await startTestProxy(
    mock.url,
    {
      providers: [
        {
          name: "mock",
          type: "openai-compatible",
          base_url: mock.url,
          api_key_env: "AZURE_OPENAI_KEY",
          auth_header: "api-key",
        },
        { name: "local", type: "local" },
      ],
    },
    { AZURE_OPENAI_KEY: AZURE_KEY },
  );
  try {
    const secret = tp.open(100_000n);
    const seen: string[] = [];
    const send = async (body: Record<string, unknown>) => {
      const res = await tp.fetch("/v1/chat/completions", {
        method: "POST",
        secret,
        body: JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "hi" }], ...body }),
      });
      const text = await res.text();
      seen.push(text);
      return { status: res.status, text };
    };
    // The upstream rejects the request and quotes the key back (as a misconfigured gateway does).
    mock.faults.push({ status: 400, message: `invalid deployment for api-key ${AZURE_KEY}` });
    const rejected = await send({});
    t.is(rejected.status, 400);
    t.regex(rejected.text, /invalid deployment for api-key \[redacted\]/);
    mock.faults.push(
      { status: 500, message: `backend said: key=${AZURE_KEY}` },
      { status: 500 },
      { status: 500 },
    );
    await send({});
    const json = await send({});
    t.is(json.status, 200);
    t.regex(json.text, /your key is \[redacted\] ok/);
    const stream = await send({ stream: true });
    t.is(stream.status, 200);
    t.regex(stream.text, /\[redacted\]/);
    t.is(mock.requests.at(-1)!.headers["api-key"], AZURE_KEY, "the key still reaches the upstream");
    for (const text of seen) t.false(text.includes(AZURE_KEY), text);
    t.false(tp.logs.join("\n").includes(AZURE_KEY), "logs");
  } finally {
    await tp.stop();
    await mock.close();
  }
});

test("T22 the refund signer key is scrubbed by value from answers too", async (t) => {
  const mock = await startMockUpstream();
  const tp = await startTestProxy(mock.url);
  try {
    const key = tp.proxy.context.signer!.privateKey;
    mock.options = { reply: `leaked ${key} and ${key.slice(2)}` };
    const secret = tp.open(100_000n);
    const res = await tp.client(secret).chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "hi" }],
    });
    const content = res.choices[0]!.message.content!;
    t.false(content.includes(key.slice(2)));
    t.is(content, "leaked [redacted] and [redacted]");
  } finally {
    await tp.stop();
    await mock.close();
  }
});
