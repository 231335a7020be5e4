// Requester side of the NATS chat framing (framing.ts): one call for a completion, an async iterator
// for a stream. Uses only the connection it is given (auth and TLS are the connection's business).
import { headers, type Msg, type NatsConnection, RequestStrategy } from "nats";
import {
  COST_HEADER,
  EVENT_HEADER,
  REMAINING_HEADER,
  RESERVED_HEADER,
  type ReplyEvent,
  STATUS_HEADER,
  subjectsFor,
} from "./framing.js";

export interface NatsReply {
  status: number;
  event: ReplyEvent;
  /** Parsed JSON payload (undefined for `end`). */
  body: unknown;
  /** A completion's charge and the conversation's balance after it (token units), when sent. */
  cost?: string;
  remaining?: string;
  reserved?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toReply(m: Msg): NatsReply {
  const text = decoder.decode(m.data);
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  const header = (name: string) => m.headers?.get(name) || undefined;
  const cost = header(COST_HEADER);
  const remaining = header(REMAINING_HEADER);
  const reserved = header(RESERVED_HEADER);
  return {
    status: Number(header(STATUS_HEADER) ?? 0),
    event: (header(EVENT_HEADER) ?? "result") as ReplyEvent,
    body,
    ...(cost ? { cost } : {}),
    ...(remaining ? { remaining } : {}),
    ...(reserved ? { reserved } : {}),
  };
}

function authHeaders(secret: string) {
  const h = headers();
  h.set("Authorization", `Bearer ${secret}`);
  return h;
}

/** A non-streaming request on <prefix>.chat.completions (or any single-answer subject). */
export async function natsRequest(
  nc: NatsConnection,
  subject: string,
  secret: string,
  payload: Record<string, unknown> | string,
  timeoutMs = 60_000,
): Promise<NatsReply> {
  const data = typeof payload === "string" ? payload : JSON.stringify(payload);
  const m = await nc.request(subject, encoder.encode(data), {
    timeout: timeoutMs,
    headers: authHeaders(secret),
  });
  return toReply(m);
}

export function natsChat(
  nc: NatsConnection,
  secret: string,
  body: Record<string, unknown>,
  options: { prefix?: string; timeoutMs?: number } = {},
): Promise<NatsReply> {
  return natsRequest(nc, subjectsFor(options.prefix ?? "aiproxy").chat, secret, body, options.timeoutMs);
}

/**
 * A streaming request: yields every `chunk` / `error` message until the `end` sentinel. maxWait
 * bounds the whole stream.
 */
export async function* natsChatStream(
  nc: NatsConnection,
  secret: string,
  body: Record<string, unknown>,
  options: { prefix?: string; maxWaitMs?: number } = {},
): AsyncGenerator<NatsReply> {
  const replies = await nc.requestMany(
    subjectsFor(options.prefix ?? "aiproxy").chat,
    encoder.encode(JSON.stringify({ ...body, stream: true })),
    {
      strategy: RequestStrategy.SentinelMsg,
      maxWait: options.maxWaitMs ?? 120_000,
      headers: authHeaders(secret),
    },
  );
  for await (const m of replies) {
    const reply = toReply(m);
    if (reply.event === "end") return;
    yield reply;
  }
}
