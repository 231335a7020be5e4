// `local`: a deterministic DEMO model, not an AI. It echoes a summary of the last user message,
// streams it word by word, reports usage, and calls the first tool when tools are given, so
// `npm start` and the tests run without any provider or network.
import type { ProviderConfig } from "../../config.js";
import type { ModelInfo, Upstream, UpstreamChatRequest, WebUpstreamCall } from "../types.js";

interface Message {
  role?: string;
  content?: unknown;
  tool_calls?: unknown;
}
interface Tool {
  type?: string;
  function?: { name?: string; parameters?: { properties?: Record<string, { type?: string }> } };
}

const encoder = new TextEncoder();

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === "object" && "text" in p ? String((p as { text: unknown }).text) : ""))
      .join(" ");
  }
  return "";
}

function plan(body: UpstreamChatRequest["body"]) {
  const messages = (Array.isArray(body["messages"]) ? body["messages"] : []) as Message[];
  const last = messages.at(-1);
  const tools = (Array.isArray(body["tools"]) ? body["tools"] : []) as Tool[];
  const toolChoice = body["tool_choice"];
  const promptTokens = Math.max(1, Math.ceil(JSON.stringify(messages).length / 4));
  const maxTokens = Number(body["max_completion_tokens"] ?? body["max_tokens"] ?? 256);

  if (tools.length > 0 && toolChoice !== "none" && last?.role === "user") {
    const chosen =
      (toolChoice && typeof toolChoice === "object"
        ? tools.find((t) => t.function?.name === (toolChoice as Tool).function?.name)
        : undefined) ?? tools[0]!;
    const props = chosen.function?.parameters?.properties ?? {};
    const key = Object.keys(props)[0];
    const args = JSON.stringify(key ? { [key]: textOf(last.content).slice(0, 64) } : {});
    return {
      kind: "tool" as const,
      name: chosen.function?.name ?? "tool",
      args,
      promptTokens,
      completionTokens: Math.max(1, Math.ceil(args.length / 4) + 2),
    };
  }
  const said = last?.role === "tool" ? `tool result ${textOf(last.content)}` : textOf(last?.content);
  const words = `Demo reply (local model, not an AI): you said ${said.slice(0, 200)}`
    .split(/\s+/)
    .filter(Boolean);
  const kept = words.slice(0, Math.max(1, maxTokens));
  return {
    kind: "text" as const,
    words: kept,
    finish: kept.length < words.length ? "length" : "stop",
    promptTokens,
    completionTokens: kept.length,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LocalUpstream implements Upstream {
  readonly name: string;
  readonly #chunkDelayMs: number;
  #counter = 0;

  constructor(config: Pick<ProviderConfig, "name" | "chunk_delay_ms">) {
    this.name = config.name;
    this.#chunkDelayMs = config.chunk_delay_ms ?? 0;
  }

  async listModels(): Promise<ModelInfo[]> {
    return [{ id: "demo-local", owned_by: "aiproxy-demo", context_window: 8192 }];
  }

  async chat(request: UpstreamChatRequest): Promise<WebUpstreamCall> {
    const body = request.body;
    const p = plan(body);
    const id = `chatcmpl-local-${++this.#counter}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = {
      prompt_tokens: p.promptTokens,
      completion_tokens: p.completionTokens,
      total_tokens: p.promptTokens + p.completionTokens,
    };
    const base = { id, created, model: body.model, system_fingerprint: "local-demo" };

    if (!body.stream) {
      const message =
        p.kind === "tool"
          ? {
              role: "assistant",
              content: null,
              tool_calls: [
                { id: `call_${id}`, type: "function", function: { name: p.name, arguments: p.args } },
              ],
            }
          : { role: "assistant", content: p.words.join(" ") };
      const json = {
        ...base,
        object: "chat.completion",
        choices: [
          { index: 0, message, finish_reason: p.kind === "tool" ? "tool_calls" : p.finish, logprobs: null },
        ],
        usage,
      };
      return { response: Response.json(json) };
    }

    const includeUsage = Boolean(
      (body["stream_options"] as { include_usage?: boolean } | undefined)?.include_usage,
    );
    const delay = this.#chunkDelayMs;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      encoder.encode(
        `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`,
      );
    const deltas: unknown[][] = [];
    if (p.kind === "tool") {
      const half = Math.ceil(p.args.length / 2);
      deltas.push([
        {
          index: 0,
          delta: {
            role: "assistant",
            content: null,
            tool_calls: [
              { index: 0, id: `call_${id}`, type: "function", function: { name: p.name, arguments: "" } },
            ],
          },
          finish_reason: null,
        },
      ]);
      deltas.push([
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { arguments: p.args.slice(0, half) } }] },
          finish_reason: null,
        },
      ]);
      deltas.push([
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { arguments: p.args.slice(half) } }] },
          finish_reason: null,
        },
      ]);
      deltas.push([{ index: 0, delta: {}, finish_reason: "tool_calls" }]);
    } else {
      deltas.push([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
      p.words.forEach((w, i) => {
        deltas.push([{ index: 0, delta: { content: i === 0 ? w : ` ${w}` }, finish_reason: null }]);
      });
      deltas.push([{ index: 0, delta: {}, finish_reason: p.finish }]);
    }
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i < deltas.length) {
          if (delay > 0 && i > 0) await sleep(delay);
          controller.enqueue(chunk(deltas[i++]!));
          return;
        }
        if (includeUsage) {
          controller.enqueue(
            encoder.encode(
              `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage })}\n\n`,
            ),
          );
        }
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        controller.close();
      },
    });
    return {
      response: new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8" } }),
    };
  }
}
