// Stored responses, for `previous_response_id` and `item_reference`: kept in this process's memory
// (bounded by count, bytes and age), scoped to the conversation that made them, so one secret can
// never continue or read another's. Not shared between replicas: behind a load balancer, a client
// that continues a response must reach the same proxy, or send its items (AI SDK: store: false).
// `store: false` requests are not kept.
import type { ChatMessage } from "./request.js";
import type { OutputItem, ResponseObject } from "./types.js";

export interface StoredResponse {
  conversationId: string;
  /** The conversation through this response, as chat messages (instructions excluded). */
  messages: ChatMessage[];
  response: ResponseObject;
  bytes: number;
  expiresAt: number;
}

export interface ResponseStoreOptions {
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
}

/** The assistant turn a response's output stands for, as one chat message. */
export function assistantMessage(output: OutputItem[]): ChatMessage | undefined {
  let content = "";
  const calls: unknown[] = [];
  for (const item of output) {
    if (item.type === "message")
      for (const part of item.content) content += part.type === "output_text" ? part.text : part.refusal;
    if (item.type === "function_call")
      calls.push({
        id: item.call_id,
        type: "function",
        function: { name: item.name, arguments: item.arguments },
      });
  }
  if (!content && calls.length === 0) return undefined;
  return { role: "assistant", content: content || null, ...(calls.length ? { tool_calls: calls } : {}) };
}

export class ResponseStore {
  /** Insertion order = age order: the oldest entry is the first key. */
  readonly #entries = new Map<string, StoredResponse>();
  /** Output item id -> response id. */
  readonly #items = new Map<string, string>();
  #bytes = 0;

  constructor(private readonly options: ResponseStoreOptions) {}

  put(conversationId: string, messages: ChatMessage[], response: ResponseObject, now = Date.now()): void {
    const bytes = JSON.stringify(messages).length + JSON.stringify(response).length;
    if (bytes > this.options.maxBytes) return;
    this.#drop(response.id);
    this.#entries.set(response.id, {
      conversationId,
      messages,
      response,
      bytes,
      expiresAt: now + this.options.ttlMs,
    });
    for (const item of response.output) this.#items.set(item.id, response.id);
    this.#bytes += bytes;
    this.#evict(now);
  }

  /** The stored response of this conversation, or undefined (unknown, expired, or another's). */
  get(id: string, conversationId: string, now = Date.now()): StoredResponse | undefined {
    const entry = this.#entries.get(id);
    if (!entry || entry.conversationId !== conversationId) return undefined;
    if (entry.expiresAt <= now) {
      this.#drop(id);
      return undefined;
    }
    return entry;
  }

  /** An output item of one of this conversation's stored responses, as a Responses input item. */
  item(itemId: string, conversationId: string, now = Date.now()): Record<string, unknown> | undefined {
    const responseId = this.#items.get(itemId);
    const entry = responseId ? this.get(responseId, conversationId, now) : undefined;
    const item = entry?.response.output.find((i) => i.id === itemId);
    return item ? (item as unknown as Record<string, unknown>) : undefined;
  }

  get size(): number {
    return this.#entries.size;
  }

  #drop(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
    for (const item of entry.response.output)
      if (this.#items.get(item.id) === id) this.#items.delete(item.id);
  }

  #evict(now: number): void {
    for (const [id, entry] of this.#entries) {
      const over = this.#entries.size > this.options.maxEntries || this.#bytes > this.options.maxBytes;
      if (!over && entry.expiresAt > now) break;
      this.#drop(id);
    }
  }
}
