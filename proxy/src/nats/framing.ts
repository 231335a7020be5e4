// The NATS reply framing, shared by the proxy (server side) and the client helper.
//
// Request: subject <prefix>.chat.completions (or .jobs.submit / .jobs.get), header
// `Authorization: Bearer <secret>`, payload = the OpenAI JSON body (jobs.get: the job id).
// Replies go to the request's reply inbox; every reply message carries `Aiproxy-Status` (the HTTP
// status the same request gets over HTTP) and `Aiproxy-Event`:
//   result  the whole answer (non-streaming completion, job view), a single message
//   chunk   one SSE event of a streaming completion: payload = the event's `data` (a chunk JSON)
//   error   OpenAI error shape {"error":{message,type,param,code}}; Retry-After copied when present
//   end     empty payload: nothing follows. Ends every stream and follows every error, so nats.js
//           `requestMany(..., { strategy: RequestStrategy.SentinelMsg })` stops on it by itself.
// SSE's `data: [DONE]` is not forwarded: `end` replaces it. A `result` of a completion also carries
// `Aiproxy-Cost`, `Aiproxy-Balance-Remaining` and `Aiproxy-Balance-Reserved` (token units), like the
// HTTP answer's x-aiproxy-* headers; a stream's cost is in its usage chunk (`usage.cost`).
import { headers, type MsgHdrs } from "nats";
import { type ErrorReply, errorReply } from "../errors.js";

export const STATUS_HEADER = "Aiproxy-Status";
export const EVENT_HEADER = "Aiproxy-Event";
export const RETRY_AFTER_HEADER = "Retry-After";
export const COST_HEADER = "Aiproxy-Cost";
export const REMAINING_HEADER = "Aiproxy-Balance-Remaining";
export const RESERVED_HEADER = "Aiproxy-Balance-Reserved";
export type ReplyEvent = "result" | "chunk" | "error" | "end";

export function subjectsFor(prefix: string) {
  return {
    chat: `${prefix}.chat.completions`,
    jobSubmit: `${prefix}.jobs.submit`,
    jobGet: `${prefix}.jobs.get`,
    /** The work-queue stream's subject (internal: workers pull from it). */
    jobRun: `${prefix}.jobs.run`,
  };
}

export function replyHeaders(status: number, event: ReplyEvent, extra: Record<string, string> = {}): MsgHdrs {
  const h = headers();
  h.set(STATUS_HEADER, String(status));
  h.set(EVENT_HEADER, event);
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return h;
}

/** The error as a client sees it over HTTP (errors.ts errorReply), with NATS's header names. */
export function natsErrorReply(e: unknown): ErrorReply {
  const reply = errorReply(e);
  const retry = reply.headers["retry-after"];
  return { ...reply, headers: retry ? { [RETRY_AFTER_HEADER]: retry } : {} };
}
