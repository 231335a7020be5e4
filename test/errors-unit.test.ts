// The one conversion from anything thrown to what a client sees (proxy/src/errors.ts errorReply),
// and NATS's header names over it (nats/framing.ts): internals never leave, Retry-After does.
import test from "ava";
import { ApiError, errorReply, errors } from "#internal/proxy/errors";
import { natsErrorReply } from "#internal/proxy/nats/framing";

test("an ApiError is answered as it is: status, OpenAI body, its headers", (t) => {
  const reply = errorReply(errors.rateLimited(2.5));
  t.is(reply.status, 429);
  t.deepEqual(reply.body, {
    error: {
      message: "the upstream provider is rate limiting, retry later",
      type: "rate_limit_error",
      param: null,
      code: "rate_limited",
    },
  });
  t.deepEqual(reply.headers, { "retry-after": "3" });
});

test("anything else is a bare 500 that carries none of its message", (t) => {
  for (const thrown of [new Error("SQLITE_BUSY at /secret/path"), "a string", undefined]) {
    const reply = errorReply(thrown);
    t.is(reply.status, 500);
    t.deepEqual(reply.body, {
      error: { message: "internal proxy error", type: "server_error", param: null, code: "internal_error" },
    });
    t.deepEqual(reply.headers, {});
    t.false(JSON.stringify(reply).includes("SQLITE"));
  }
});

test("over NATS the same reply, Retry-After under its NATS header name and nothing else", (t) => {
  const e = new ApiError(503, "busy", "busy", null, { "retry-after": "7", "x-other": "1" });
  t.deepEqual(natsErrorReply(e), { ...errorReply(e), headers: { "Retry-After": "7" } });
  t.deepEqual(natsErrorReply(new Error("x")).headers, {});
});

test("a stream that broke off ends with the same OpenAI-shaped 502 on every surface", (t) => {
  const { status, body } = errorReply(errors.streamCut());
  t.is(status, 502);
  t.deepEqual(body.error, {
    message: "the upstream stream ended early",
    type: "upstream_error",
    param: null,
    code: "stream_cut",
  });
});
