// `local`: a deterministic DEMO model, not an AI (reply.ts says what it answers). It speaks OpenAI's
// wire format exactly — JSON completions, SSE chunks with usage when asked, `n` choices, streamed
// tool calls, `reasoning_content` deltas — and embeddings (vectors from sha256 of the input), so
// `npm start` and the tests run without any provider or network.

import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ProviderConfig } from "../../config.js";
import type { ModelInfo, Upstream, UpstreamChatRequest, UpstreamRequest, WebUpstreamCall } from "../types.js";
import { type Plan, plan, tokensOf, wordPieces } from "./reply.js";

const encoder = new TextEncoder();

function isJsonFormat(body: Record<string, unknown>): boolean {
  const type = (body["response_format"] as { type?: string } | undefined)?.type;
  return type === "json_object" || type === "json_schema";
}

/** The choices' plans: choice i > 0 of a prose reply says which choice it is. */
function plans(body: Record<string, unknown>): Plan[] {
  const n = typeof body["n"] === "number" && body["n"] > 1 ? Math.min(16, Math.floor(body["n"])) : 1;
  const maxTokens = Number(body["max_completion_tokens"] ?? body["max_tokens"] ?? 256);
  return Array.from({ length: n }, (_, i) => {
    const p = plan(body, maxTokens);
    if (i > 0 && p.kind === "text" && p.finish === "stop" && !isJsonFormat(body))
      p.pieces = [...p.pieces, ...wordPieces(` (choice ${i + 1} of ${n})`)];
    return p;
  });
}

function messageOf(p: Plan, callId: string): Record<string, unknown> {
  const reasoning = p.reasoning.length ? { reasoning_content: p.reasoning.join("") } : {};
  if (p.kind === "tool") {
    return {
      role: "assistant",
      content: null,
      ...reasoning,
      tool_calls: [{ id: callId, type: "function", function: { name: p.name, arguments: p.args } }],
    };
  }
  return { role: "assistant", content: p.pieces.join(""), ...reasoning, refusal: null };
}

const finishOf = (p: Plan) => (p.kind === "tool" ? "tool_calls" : p.finish);

/** Stream deltas of one choice, in order. */
function deltasOf(p: Plan, callId: string): Array<{ delta: Record<string, unknown>; finish?: string }> {
  const out: Array<{ delta: Record<string, unknown>; finish?: string }> = [
    { delta: { role: "assistant", content: p.kind === "tool" ? null : "" } },
  ];
  for (const piece of p.reasoning) out.push({ delta: { reasoning_content: piece } });
  if (p.kind === "tool") {
    const half = Math.ceil(p.args.length / 2);
    out.push({
      delta: {
        tool_calls: [{ index: 0, id: callId, type: "function", function: { name: p.name, arguments: "" } }],
      },
    });
    for (const part of [p.args.slice(0, half), p.args.slice(half)])
      out.push({ delta: { tool_calls: [{ index: 0, function: { arguments: part } }] } });
  } else {
    for (const piece of p.pieces) out.push({ delta: { content: piece } });
  }
  out.push({ delta: {}, finish: finishOf(p) });
  return out;
}

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
    const choices = plans(body);
    const id = `chatcmpl-local-${++this.#counter}`;
    const created = Math.floor(Date.now() / 1000);
    const messages = Array.isArray(body["messages"]) ? body["messages"] : [];
    const promptTokens = Math.max(1, Math.ceil(JSON.stringify(messages).length / 4));
    const completionTokens = choices.reduce((sum, p) => sum + tokensOf(p), 0);
    const reasoningTokens = choices.reduce((sum, p) => sum + p.reasoning.length, 0);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoningTokens },
    };
    const base = { id, created, model: body.model, system_fingerprint: "local-demo" };
    const callId = (i: number) => `call_local_${this.#counter}_${i}`;

    if (!body.stream) {
      const json = {
        ...base,
        object: "chat.completion",
        choices: choices.map((p, i) => ({
          index: i,
          message: messageOf(p, callId(i)),
          finish_reason: finishOf(p),
          logprobs: null,
        })),
        usage,
      };
      return { response: Response.json(json) };
    }

    const includeUsage = Boolean(
      (body["stream_options"] as { include_usage?: boolean } | undefined)?.include_usage,
    );
    const frame = (payload: Record<string, unknown>) =>
      encoder.encode(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", ...payload })}\n\n`);
    // Choices interleave step by step, as a real n > 1 stream does.
    const perChoice = choices.map((p, i) => deltasOf(p, callId(i)));
    const frames: Uint8Array[] = [];
    const steps = Math.max(...perChoice.map((d) => d.length));
    for (let step = 0; step < steps; step++) {
      perChoice.forEach((deltas, index) => {
        const d = deltas[step];
        if (!d) return;
        frames.push(
          frame({
            choices: [{ index, delta: d.delta, logprobs: null, finish_reason: d.finish ?? null }],
            ...(includeUsage ? { usage: null } : {}),
          }),
        );
      });
    }
    if (includeUsage) frames.push(frame({ choices: [], usage }));
    frames.push(encoder.encode("data: [DONE]\n\n"));
    const delay = this.#chunkDelayMs;
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (delay > 0 && i > 0 && i < frames.length - 1) await sleep(delay);
        controller.enqueue(frames[i++]!);
        if (i === frames.length) controller.close();
      },
    });
    return {
      response: new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8" } }),
    };
  }

  /** OpenAI's embeddings: unit vectors drawn from sha256(input), `dimensions` long (default 64). */
  async embeddings(request: UpstreamRequest): Promise<WebUpstreamCall> {
    const body = request.body;
    const raw = body["input"];
    const inputs: unknown[] = Array.isArray(raw) && !raw.every((x) => typeof x === "number") ? raw : [raw];
    const dims =
      typeof body["dimensions"] === "number" ? Math.max(1, Math.min(4096, body["dimensions"])) : 64;
    let tokens = 0;
    const data = inputs.map((input, index) => {
      const text = typeof input === "string" ? input : JSON.stringify(input);
      tokens += Array.isArray(input) ? input.length : Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));
      const vector: number[] = [];
      for (let block = 0; vector.length < dims; block++) {
        const digest = createHash("sha256").update(`${block}:${text}`).digest();
        for (let j = 0; j < digest.length && vector.length < dims; j++) vector.push(digest[j]! / 127.5 - 1);
      }
      const norm = Math.hypot(...vector) || 1;
      const embedding = vector.map((v) => v / norm);
      return {
        object: "embedding",
        index,
        embedding:
          body["encoding_format"] === "base64"
            ? Buffer.from(new Float32Array(embedding).buffer).toString("base64")
            : embedding,
      };
    });
    return {
      response: Response.json({
        object: "list",
        data,
        model: body.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      }),
    };
  }
}
