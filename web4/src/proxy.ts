// Client for the OpenAI-compatible proxy. The conversation secret is the bearer key.

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ConversationUsage {
  deposit: string;
  reserved: string;
  spent: string;
  remaining: string;
  status: string;
}

import type { SignedRefund } from "../../wire/index.js";

export type { SignedRefund };

export class ProxyError extends Error {
  constructor(
    message: string,
    readonly status: number,
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
      throw new ProxyError(`AI proxy unreachable at ${this.baseUrl}`, 0, true);
    }
    if (!res.ok) throw new ProxyError(await errorMessage(res), res.status);
    return res;
  }

  async models(): Promise<string[]> {
    const res = await this.request("/v1/models", null);
    const body = (await res.json()) as { data?: { id: string }[] };
    return (body.data ?? []).map((m) => m.id);
  }

  async current(secret: string, signal?: AbortSignal): Promise<ConversationUsage> {
    const res = await this.request("/v1/conversations/current", secret, { signal });
    return (await res.json()) as ConversationUsage;
  }

  async refund(secret: string): Promise<SignedRefund> {
    const res = await this.request("/v1/conversations/refund", secret, { method: "POST", body: "{}" });
    return (await res.json()) as SignedRefund;
  }

  /** Streams a chat completion; onDelta receives each content fragment. Resolves with the full text. */
  async chat(
    secret: string,
    body: { model?: string; messages: ChatMessage[]; max_tokens?: number },
    onDelta: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    const res = await this.request("/v1/chat/completions", secret, {
      method: "POST",
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      signal,
    });
    if (!res.body) throw new ProxyError("the proxy returned no stream", res.status);
    let full = "";
    const parser = new SseParser((data) => {
      if (data === "[DONE]") return;
      let chunk: { choices?: { delta?: { content?: string } }[]; error?: { message?: string } };
      try {
        chunk = JSON.parse(data);
      } catch {
        return;
      }
      // An error after the stream started arrives as an SSE event, not an HTTP status.
      if (chunk.error) throw new ProxyError(chunk.error.message ?? "stream error", 502);
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        full += delta;
        onDelta(delta);
      }
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    parser.push("\n\n");
    return full;
  }
}

/** Incremental server-sent-events parser: calls onData with each event's joined data lines. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  constructor(private readonly onData: (data: string) => void) {}
  push(text: string) {
    this.buffer += text;
    let nl = this.buffer.search(/\r?\n/);
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(this.buffer[nl] === "\r" ? nl + 2 : nl + 1);
      if (line === "") {
        if (this.data.length) this.onData(this.data.join("\n"));
        this.data = [];
      } else if (line.startsWith("data:")) {
        this.data.push(line.slice(5).replace(/^ /, ""));
      }
      nl = this.buffer.search(/\r?\n/);
    }
  }
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const msg = typeof body.error === "string" ? body.error : (body.error?.message ?? body.message);
    if (msg) return `${msg} (HTTP ${res.status})`;
  } catch {
    // not JSON: fall through
  }
  return `AI proxy error HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
}
