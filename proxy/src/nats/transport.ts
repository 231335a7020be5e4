// Chat over NATS request/reply. Every proxy subscribes in one queue group, so NATS hands each request
// to exactly one of them. The handler is the HTTP one (completeChat): same auth, metering, errors;
// only the framing differs (see framing.ts).
import { createParser } from "eventsource-parser";
import type { Msg, NatsConnection, Subscription } from "nats";
import { bearerSecret, conversationIdFromSecret } from "../auth.js";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import { parseJsonObject } from "../http/body.js";
import { completeChat } from "../relay/chat.js";
import { errorReply, type ReplyEvent, replyHeaders, subjectsFor } from "./framing.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface NatsHandlerContext {
  nc: NatsConnection;
  ctx: ProxyContext;
}

/** Sends one framed reply message to the request's inbox (never throws: the requester may be gone). */
export function send(
  nc: NatsConnection,
  msg: Msg,
  status: number,
  event: ReplyEvent,
  payload: string,
  extra?: Record<string, string>,
): void {
  if (!msg.reply) return;
  try {
    nc.publish(msg.reply, encoder.encode(payload), { headers: replyHeaders(status, event, extra) });
  } catch {
    // connection closing: the requester times out, the ledger is unaffected
  }
}

export function sendError(nc: NatsConnection, msg: Msg, e: unknown, ctx: ProxyContext): number {
  const r = errorReply(e);
  if (r.status === 500) ctx.logger.error({ err: (e as Error)?.message }, "unhandled NATS request error");
  send(nc, msg, r.status, "error", JSON.stringify(r.body), r.headers);
  send(nc, msg, r.status, "end", "");
  return r.status;
}

/** The bearer secret's conversation id; the same 401s as HTTP. */
export function conversationOf(msg: Msg): string {
  return conversationIdFromSecret(bearerSecret(msg.headers?.get("Authorization") || undefined));
}

/** The request body as a JSON object, with the HTTP limits and messages. */
export function jsonBody(msg: Msg, limit: number): Record<string, unknown> {
  if (msg.data.length > limit) throw errors.tooLarge(limit);
  return parseJsonObject(decoder.decode(msg.data));
}

async function handleChat(h: NatsHandlerContext, msg: Msg): Promise<number> {
  const { nc, ctx } = h;
  let streaming = false;
  try {
    const id = conversationOf(msg);
    const body = jsonBody(msg, ctx.config.max_body_bytes);
    const res = await completeChat(ctx, id, body);
    streaming = (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
    if (!streaming) {
      send(nc, msg, res.status, "result", await res.text());
      return res.status;
    }
    await forwardSse(nc, msg, res);
    return res.status;
  } catch (e) {
    return sendError(nc, msg, e, ctx);
  }
}

/** One NATS message per SSE event; `[DONE]` becomes the empty `end` message. */
async function forwardSse(nc: NatsConnection, msg: Msg, res: Response): Promise<void> {
  const parser = createParser({
    onEvent(event) {
      if (event.data === "[DONE]") return;
      let isError = false;
      try {
        isError = Boolean((JSON.parse(event.data) as { error?: unknown }).error);
      } catch {
        // not JSON: forwarded as a chunk, the same as SSE would
      }
      if (isError) send(nc, msg, 502, "error", event.data);
      else send(nc, msg, 200, "chunk", event.data);
    },
  });
  const reader = res.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  }
  send(nc, msg, 200, "end", "");
}

/** Subscribes `handler` in the queue group; tracks running handlers so stop() can wait for them. */
export function serve(
  h: NatsHandlerContext,
  subject: string,
  route: string,
  handler: (h: NatsHandlerContext, msg: Msg) => Promise<number>,
  running: Set<Promise<unknown>>,
): Subscription {
  return h.nc.subscribe(subject, {
    queue: h.ctx.config.nats.queue_group,
    callback: (err, msg) => {
      if (err) {
        h.ctx.logger.warn({ err: err.message, subject }, "NATS subscription error");
        return;
      }
      if (!msg.reply) return; // fire-and-forget requests have nowhere to get an answer or an error
      const started = performance.now();
      const p = handler(h, msg)
        .then((status) => {
          h.ctx.metrics.requests.inc({ route, status: String(status) });
          h.ctx.metrics.latency.observe({ route }, (performance.now() - started) / 1000);
        })
        .catch((e) => h.ctx.logger.error({ err: (e as Error).message }, "NATS handler failed"))
        .finally(() => running.delete(p));
      running.add(p);
    },
  });
}

export function serveChat(h: NatsHandlerContext, running: Set<Promise<unknown>>): Subscription {
  return serve(
    h,
    subjectsFor(h.ctx.config.nats.subject_prefix).chat,
    "nats:chat.completions",
    handleChat,
    running,
  );
}
