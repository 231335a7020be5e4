// Chat over NATS request/reply. Every proxy subscribes in one queue group, so NATS hands each request
// to exactly one of them. The pipeline is the HTTP one (runChat): same auth, metering, errors; only
// the framing differs (see framing.ts): one message per stream event, straight from the pipeline.
import type { Msg, NatsConnection, Subscription } from "nats";
import { bearerSecret, conversationIdFromSecret } from "../auth.js";
import type { ProxyContext } from "../context.js";
import { errorReply, errors } from "../errors.js";
import { parseJsonObject } from "../http/body.js";
import type { InflightTracker } from "../inflight.js";
import { runChat } from "../relay/pipeline.js";
import type { StreamConsumer } from "../relay/result.js";
import {
  COST_HEADER,
  natsErrorReply,
  REMAINING_HEADER,
  RESERVED_HEADER,
  type ReplyEvent,
  replyHeaders,
  subjectsFor,
} from "./framing.js";

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
  const r = natsErrorReply(e);
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
  try {
    const conversationId = conversationOf(msg);
    // NATS requests carry no client address: they share one first-sight budget (T23).
    ctx.conversations.gate(conversationId, "nats");
    const body = jsonBody(msg, ctx.config.max_body_bytes);
    const wantsUsage =
      (body["stream_options"] as { include_usage?: unknown } | undefined)?.include_usage === true;
    const result = await runChat(ctx, { conversationId, body }, natsStream(nc, msg, wantsUsage));
    if (result.kind === "completion") {
      const { charge } = result;
      send(nc, msg, 200, "result", JSON.stringify(result.body), {
        [COST_HEADER]: charge.cost.toString(),
        ...(charge.balance
          ? {
              [REMAINING_HEADER]: charge.balance.remaining.toString(),
              [RESERVED_HEADER]: charge.balance.reserved.toString(),
            }
          : {}),
      });
      return 200;
    }
    await result.settled;
    return 200;
  } catch (e) {
    return sendError(nc, msg, e, ctx);
  }
}

/** One `chunk` message per stream event; the usage chunk when asked; `error` on a cut; `end`. */
function natsStream(nc: NatsConnection, msg: Msg, wantsUsage: boolean): StreamConsumer {
  return {
    event(e) {
      send(nc, msg, 200, "chunk", e.data);
    },
    end({ usageEvent, cut }) {
      const choices = usageEvent?.chunk["choices"] as unknown[] | undefined;
      if (usageEvent && (wantsUsage || (choices?.length ?? 0) > 0))
        send(nc, msg, 200, "chunk", JSON.stringify(usageEvent.chunk));
      if (cut) {
        const { status, body } = errorReply(errors.streamCut());
        send(nc, msg, status, "error", JSON.stringify(body));
      }
      send(nc, msg, 200, "end", "");
    },
  };
}

/** Subscribes `handler` in the queue group; tracks running handlers so stop() can wait for them. */
export function serve(
  h: NatsHandlerContext,
  subject: string,
  route: string,
  handler: (h: NatsHandlerContext, msg: Msg) => Promise<number>,
  running: InflightTracker,
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
      void running.track(
        handler(h, msg)
          .then((status) => {
            h.ctx.metrics.requests.inc({ route, status: String(status) });
            h.ctx.metrics.latency.observe({ route }, (performance.now() - started) / 1000);
          })
          .catch((e) => h.ctx.logger.error({ err: (e as Error).message }, "NATS handler failed")),
      );
    },
  });
}

export function serveChat(h: NatsHandlerContext, running: InflightTracker): Subscription {
  return serve(
    h,
    subjectsFor(h.ctx.config.nats.subject_prefix).chat,
    "nats:chat.completions",
    handleChat,
    running,
  );
}
