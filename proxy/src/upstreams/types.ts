// One interface for every upstream (Portkey-style: one folder per provider beside this file).
// An adapter speaks its provider's protocol and hands back OpenAI's wire format; retries,
// fallbacks, metering and SSE parsing live in the proxy, not in adapters.
import type { Readable } from "node:stream";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
}

export interface ModelInfo {
  /** The id clients send as `model`. */
  id: string;
  owned_by: string;
  context_window: number;
}

export interface UpstreamChatRequest {
  /**
   * An OpenAI chat.completions body. `model` is already the upstream's own model name; when
   * `stream` is true the proxy has set `stream_options.include_usage`.
   */
  body: Record<string, unknown> & { model: string; stream?: boolean };
  /** Aborted on per-attempt timeout or proxy shutdown (never on client disconnect: we still bill). */
  signal: AbortSignal;
}

/** What the proxy reads of an answer before its body. A web Response is one. */
export interface UpstreamHead {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
}

interface UpstreamCallBase {
  /** Called once after the proxy has read the whole answer (0G settles fees here). */
  finish?(result: { id?: string; usage?: Usage; headers: UpstreamHead["headers"] }): Promise<void>;
}

/**
 * The upstream's HTTP answer in OpenAI's format: JSON for non-streaming requests, an SSE stream of
 * chat.completion.chunk for streaming ones. A non-2xx status is returned, not thrown, so the proxy
 * can decide on retries (429/5xx before the first byte) and `Retry-After`.
 * Adapters on fetch hand back the web Response; adapters on node:http hand back the body as a Node
 * stream (`raw`) with only its status and headers in `response`: no web Response, Headers or
 * ReadableStream per request on the hot path.
 */
export type UpstreamCall = WebUpstreamCall | NodeUpstreamCall;
export type WebUpstreamCall = UpstreamCallBase & { response: Response; raw?: undefined };
export type NodeUpstreamCall = UpstreamCallBase & { response: UpstreamHead; raw: Readable };

/** A request for one of the other OpenAI endpoints: the body as the client sent it, `model` mapped. */
export interface UpstreamRequest {
  body: Record<string, unknown> & { model: string; stream?: boolean };
  signal: AbortSignal;
}

/** The OpenAI endpoints an adapter can serve besides chat completions (see `Upstream`). */
export type UpstreamApi = "responses" | "embeddings" | "completions";

export interface Upstream {
  readonly name: string;
  /**
   * The chat.completions request fields this adapter forwards (metering/fields.ts); anything else is
   * refused or dropped before it. Defaults to OPENAI_CHAT_FIELDS.
   */
  readonly requestFields?: readonly string[];
  listModels(): Promise<ModelInfo[]>;
  chat(request: UpstreamChatRequest): Promise<UpstreamCall>;
  /**
   * Optional endpoints, present only when the provider serves them: `POST /responses` (native
   * Responses API; without it the proxy translates to chat completions), `POST /embeddings`, and the
   * legacy `POST /completions`. Same contract as `chat`: non-2xx answers are returned, not thrown.
   */
  responses?(request: UpstreamRequest): Promise<UpstreamCall>;
  embeddings?(request: UpstreamRequest): Promise<UpstreamCall>;
  completions?(request: UpstreamRequest): Promise<UpstreamCall>;
  close?(): Promise<void>;
}

/** An error an adapter raises before it has a response, mapped to OpenAI's error shape by the proxy. */
export class UpstreamError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}
