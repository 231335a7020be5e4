// POST /v1/responses through the chat core. Forwarded natively when every provider of the model
// serves the Responses API (adapter capability `responses`), translated to chat completions
// otherwise (request.ts, response.ts, events.ts). Metered and refunded like chat: the reservation is
// quoted on the translated request either way, and `usage.cost` is the settlement.
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import { sseBatch } from "../http/reply.js";
import { prepare } from "../relay/admission.js";
import { modelServes, run } from "../relay/pipeline.js";
import type { ChatResult, CompletionResult, StreamConsumer } from "../relay/result.js";
import type { Sink } from "../relay/sink.js";
import { ResponsesEventWriter } from "./events.js";
import { parseResponsesRequest, type ResponsesRequest, toChatBody } from "./request.js";
import { type ChatUsageLike, fromChatCompletion, newId, type ResponseFrame } from "./response.js";
import { assistantMessage, type StoredResponse } from "./store.js";
import type { ResponseObject } from "./types.js";

export interface ResponsesCall {
  stream: boolean;
  /** The stream writer over the sink (reply.ts `consumer`). */
  consumer(sink: Sink): StreamConsumer;
  run(consumer?: StreamConsumer): Promise<ChatResult>;
  /** The JSON body of a completed call. */
  json(result: CompletionResult): unknown;
}

const sse = (name: string, payload: unknown) => `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;

export async function responsesCall(
  ctx: ProxyContext,
  conversationId: string,
  body: Record<string, unknown>,
): Promise<ResponsesCall> {
  const request = parseResponsesRequest(body);
  const model = ctx.models.get(request.model);
  if (!model) throw errors.unknownModel(request.model);
  const native = modelServes(ctx, model.id, "responses");
  const continues = Boolean(request.previous_response_id) || hasReferences(request);
  if (native && continues)
    throw errors.badRequest(
      "previous_response_id and item_reference cannot be forwarded to this model's provider: the proxy could not bound what they add to the prompt; send the earlier items in `input`",
      request.previous_response_id ? "previous_response_id" : "input",
      "unsupported_parameter",
    );
  let history: StoredResponse | undefined;
  if (request.previous_response_id) {
    history = ctx.responses.get(request.previous_response_id, conversationId);
    if (!history)
      throw errors.badRequest(
        `previous response '${request.previous_response_id}' is not known to this proxy: stored responses are kept in memory for ${Math.round(ctx.config.responses.store_ttl_ms / 1000)} s by the proxy that answered them (and not at all with store: false); send the earlier items in \`input\``,
        "previous_response_id",
        "previous_response_not_found",
      );
  }
  const translated = toChatBody(request, {
    ...(history ? { history: history.messages } : {}),
    resolve: (id) => ctx.responses.item(id, conversationId),
  });
  const prepared = await prepare(ctx, { conversationId, model: model.id, meter: translated.chat });
  const stream = request.stream === true;
  const frame: ResponseFrame = {
    id: newId("resp"),
    created_at: Math.floor(Date.now() / 1000),
    model: model.id,
    echo: translated.echo,
  };
  const injected = prepared.quote.injectedMaxTokens;

  if (native) {
    const upstreamBody = {
      ...body,
      model: model.id,
      ...(injected !== undefined ? { max_output_tokens: injected } : {}),
    };
    return {
      stream,
      consumer: nativeSse,
      run: (consumer) =>
        run(ctx, { conversationId, endpoint: "responses", prepared, body: upstreamBody, stream }, consumer),
      json: (result) => result.body,
    };
  }

  const chat: Record<string, unknown> & { model: string } = { ...translated.chat, model: model.id };
  if (injected !== undefined) chat["max_tokens"] = injected;
  if (stream) {
    chat["stream"] = true;
    chat["stream_options"] = { include_usage: true };
  }
  const keep = (response: ResponseObject) => {
    if (!translated.echo.store || response.status === "failed") return;
    const answer = assistantMessage(response.output);
    ctx.responses.put(conversationId, answer ? [...translated.turns, answer] : translated.turns, response);
  };
  return {
    stream,
    consumer: (sink) => translatedSse(sink, frame, keep),
    run: (consumer) => run(ctx, { conversationId, endpoint: "chat", prepared, body: chat, stream }, consumer),
    json: (result) => {
      const response = fromChatCompletion(result.body, frame, result.charge.cost);
      keep(response);
      return response;
    },
  };
}

function hasReferences(request: ResponsesRequest): boolean {
  return Array.isArray(request.input) && request.input.some((i) => i["type"] === "item_reference");
}

/** Native Responses SSE: the upstream's events as they are, response.completed with usage.cost. */
function nativeSse(sink: Sink): StreamConsumer {
  const out = sseBatch(sink);
  return {
    event: out.relay,
    flush: out.flush,
    end({ usageEvent, cut }) {
      if (usageEvent) {
        const name = usageEvent.name ?? String(usageEvent.chunk["type"] ?? "response.completed");
        out.queue(sse(name, usageEvent.chunk));
      }
      if (cut) {
        const { message, code } = errors.streamCut();
        out.queue(sse("error", { type: "error", sequence_number: -1, code, message, param: null }));
      }
      out.flush();
      sink.end();
    },
  };
}

/** Chat chunks translated to Responses events (events.ts). */
function translatedSse(sink: Sink, frame: ResponseFrame, keep: (r: ResponseObject) => void): StreamConsumer {
  const out = sseBatch(sink);
  const writer = new ResponsesEventWriter(frame, (type, payload) => out.queue(sse(type, payload)));
  writer.start();
  return {
    parseAll: true,
    event(e) {
      if (e.chunk) writer.chunk(e.chunk);
    },
    flush: out.flush,
    end({ usageEvent, cut, charge }) {
      const usage = usageEvent?.chunk["usage"] as ChatUsageLike | undefined;
      if (usageEvent) writer.chunk(usageEvent.chunk);
      const response = writer.finish({ ...(usage ? { usage } : {}), cost: charge.cost, cut });
      keep(response);
      out.flush();
      sink.end();
    },
  };
}
