// What the pipeline hands to a surface: a completion (a parsed JSON answer, already settled), or a
// stream whose events the surface receives as they come, then its end after the settlement. Surfaces
// (HTTP chat, HTTP Responses, NATS, jobs) only serialise these; none re-parses another's output.
import type { BalanceView } from "../http/balance-headers.js";
import type { Usage } from "../upstreams/types.js";

export interface Charge {
  /** Token units charged to the conversation for this request (its settlement). */
  cost: bigint;
  usage?: Usage;
  /** The conversation's balance after the settlement (undefined if it could not be read). */
  balance?: BalanceView;
}

export interface CompletionResult {
  kind: "completion";
  /** The upstream's JSON answer, `model` set to the public id, `usage.cost` set. */
  body: Record<string, unknown>;
  charge: Charge;
}

export interface StreamResult {
  kind: "stream";
  /** The conversation's balance right after this request's reservation. */
  balance: BalanceView;
  /** Resolves once the stream is read to its end and settled (the client may be long gone). */
  settled: Promise<Charge>;
}

export type ChatResult = CompletionResult | StreamResult;

/** One upstream SSE event. */
export interface StreamEvent {
  /** The SSE `event:` name (the Responses API names its events; chat chunks have none). */
  name?: string;
  /** The event's `data` text as the upstream sent it. */
  data: string;
  /** The parsed data, when the consumer asked for every chunk parsed (or the pump parsed it anyway). */
  chunk?: Record<string, unknown>;
}

export interface StreamEnd {
  /** The upstream's usage event (held back until settled; `usage.cost` now set), if it sent one. */
  usageEvent?: StreamEvent & { chunk: Record<string, unknown> };
  /** The upstream stream broke off before its end. */
  cut: boolean;
  charge: Charge;
}

/** Where a stream's events go. Called by the pump; never throws back into it. */
export interface StreamConsumer {
  /** Parse every event's data (translation needs it); otherwise only ids and usage are parsed. */
  readonly parseAll?: boolean;
  event(event: StreamEvent): void;
  /** After each upstream read: write what the events of that read queued, in one go. */
  flush?(): void;
  end(end: StreamEnd): void;
}
