// Serialising a pipeline result over HTTP: a JSON answer with its cost and balance headers, or an SSE
// stream written straight to the Node ServerResponse when server.ts serves the request (its reply
// slot), else as a web Response body. The stream's balance headers are the ones right after its
// reservation; its cost comes in its usage event.
import type { Context } from "hono";
import { errorReply, errors } from "../errors.js";
import type { ChatResult, CompletionResult, StreamConsumer } from "../relay/result.js";
import { NodeSink, type Sink, webSink } from "../relay/sink.js";
import { balanceHeaders } from "./balance-headers.js";
import { nodeBindings } from "./body.js";

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

export function jsonReply(result: CompletionResult, body: unknown = result.body): Response {
  const { charge } = result;
  const headers = charge.balance
    ? balanceHeaders(charge.balance, charge.cost)
    : { "x-aiproxy-cost": charge.cost.toString() };
  return Response.json(body, { headers });
}

export interface ReplyOptions {
  stream: boolean;
  /** The surface's stream writer over the sink the bytes go to (streams only). */
  consumer?(sink: Sink): StreamConsumer;
  run(consumer?: StreamConsumer): Promise<ChatResult>;
  /** The JSON body of a completion (default: the upstream's answer as the pipeline returned it). */
  json?(result: CompletionResult): unknown;
}

export async function reply(c: Context, options: ReplyOptions): Promise<Response> {
  if (!options.stream) {
    const result = await options.run();
    if (result.kind !== "completion") throw new Error("a non-streaming request produced a stream");
    return jsonReply(result, options.json ? options.json(result) : result.body);
  }
  if (!options.consumer) throw new Error("a streaming reply needs a consumer");
  const direct = nodeBindings(c.env)?.direct;
  let sink: Sink;
  let body: ReadableStream<Uint8Array> | null = null;
  if (direct) {
    sink = new NodeSink();
  } else {
    const web = webSink();
    sink = web.sink;
    body = web.body;
  }
  const result = await options.run(options.consumer(sink));
  if (result.kind !== "stream") throw new Error("a streaming request produced a completion");
  // Carries status and headers through Hono's middleware; server.ts writes them with the bytes.
  if (direct) direct.sink = sink as NodeSink;
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...balanceHeaders(result.balance) } });
}

/**
 * SSE text queued per upstream read and written as one chunk (one write per upstream read); events
 * are relayed with the name and data they came with.
 */
export function sseBatch(sink: Sink) {
  let pending = "";
  return {
    queue(text: string) {
      pending += text;
    },
    relay(e: { name?: string; data: string }) {
      pending += e.name ? `event: ${e.name}\ndata: ${e.data}\n\n` : `data: ${e.data}\n\n`;
    },
    flush() {
      if (pending) sink.write(pending);
      pending = "";
    },
  };
}

/** SSE of chat completion chunks, as OpenAI sends them. */
export function chatSse(sink: Sink, clientWantsUsage: boolean): StreamConsumer {
  const out = sseBatch(sink);
  return {
    event: out.relay,
    flush: out.flush,
    end({ usageEvent, cut }) {
      // The usage chunk the proxy asked for is shown only to clients that asked for it (or when the
      // upstream put it on a chunk that also carries choices).
      const choices = usageEvent?.chunk["choices"] as unknown[] | undefined;
      if (usageEvent && (clientWantsUsage || (choices?.length ?? 0) > 0))
        out.queue(`data: ${JSON.stringify(usageEvent.chunk)}\n\n`);
      out.queue(
        cut ? `data: ${JSON.stringify(errorReply(errors.streamCut()).body)}\n\n` : "data: [DONE]\n\n",
      );
      out.flush();
      sink.end();
    },
  };
}
