// Client for the OpenAI-compatible proxy. The conversation secret is the bearer key. Streams are
// parsed with eventsource-parser; errors keep the proxy's OpenAI-shaped code and message.
import { createParser } from "eventsource-parser";
import type { SignedRefund } from "#wire";

export type { SignedRefund };

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** `GET /v1/conversations/current`: base-10 token units. */
export interface ConversationUsage {
  deposit: string;
  reserved: string;
  spent: string;
  remaining: string;
  status: string;
  /** ns: when the operator's settlement ends it (refunding what is left) if it stays unused. */
  settle_at?: string;
  settle_reason?: "idle" | "expiry";
  /** Once the settlement happened. */
  settlement?: { status: string; refund_amount?: string; tx_hash?: string };
}

export interface ModelInfo {
  id: string;
  /** Token base units per million tokens. */
  pricing?: { input: string; output: string };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Token units, if the proxy reports it (not relied on). */
  cost?: string | number;
}

export interface ChatResult {
  content: string;
  usage?: Usage;
}

export class ProxyError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The OpenAI error `code` ("insufficient_quota", "conversation_closed", …). */
    readonly code = "",
    /** True when the proxy could not be reached at all (down, CORS, network). */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = "ProxyError";
  }
}

export class ProxyClient {
  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  private async request(path: string, secret: string | null, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (secret) headers.set("authorization", `Bearer ${secret}`);
    if (init.body) headers.set("content-type", "application/json");
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, { ...init, headers });
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      throw new ProxyError(`AI proxy unreachable at ${this.baseUrl}`, 0, "unreachable", true);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  async models(): Promise<ModelInfo[]> {
    const res = await this.request("/v1/models", null);
    const body = (await res.json()) as { data?: ModelInfo[] };
    return (body.data ?? []).filter((m) => typeof m.id === "string");
  }

  async current(secret: string, signal?: AbortSignal): Promise<ConversationUsage> {
    const res = await this.request("/v1/conversations/current", secret, { signal });
    return (await res.json()) as ConversationUsage;
  }

  async refund(secret: string): Promise<SignedRefund> {
    const res = await this.request("/v1/conversations/refund", secret, { method: "POST", body: "{}" });
    return (await res.json()) as SignedRefund;
  }

  /** Streams a chat completion; onDelta receives each content fragment. */
  async chat(
    secret: string,
    body: { model?: string; messages: ChatMessage[]; max_tokens?: number },
    onDelta: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<ChatResult> {
    const res = await this.request("/v1/chat/completions", secret, {
      method: "POST",
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      signal,
    });
    if (!res.body) throw new ProxyError("the proxy returned no stream", res.status);
    const result: ChatResult = { content: "" };
    let failure: ProxyError | null = null;
    const parser = createParser({
      onEvent({ data }) {
        if (data === "[DONE]" || failure) return;
        let chunk: {
          choices?: { delta?: { content?: string } }[];
          usage?: Usage | null;
          error?: { message?: string; code?: string };
        };
        try {
          chunk = JSON.parse(data);
        } catch {
          return;
        }
        // An error after the stream started arrives as an event, not as an HTTP status.
        if (chunk.error)
          failure = new ProxyError(chunk.error.message ?? "stream error", 502, chunk.error.code);
        if (chunk.usage) result.usage = chunk.usage;
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) {
          result.content += delta;
          onDelta(delta);
        }
      },
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
      if (failure) {
        await reader.cancel().catch(() => {});
        throw failure;
      }
    }
    return result;
  }
}

async function errorOf(res: Response): Promise<ProxyError> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as {
      error?: { message?: string; code?: string } | string;
      message?: string;
    };
    const msg = typeof body.error === "string" ? body.error : (body.error?.message ?? body.message);
    const code = typeof body.error === "object" ? (body.error.code ?? "") : "";
    if (msg) return new ProxyError(msg, res.status, code);
  } catch {
    // not JSON: fall through
  }
  return new ProxyError(
    `AI proxy error HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`,
    res.status,
  );
}
