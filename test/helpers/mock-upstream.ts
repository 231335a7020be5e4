// A mock OpenAI upstream speaking the real wire format: JSON completions, SSE streams
// (`data: {...}\n\n`, `data: [DONE]`), usage in a final `choices: []` chunk when
// stream_options.include_usage is set, streamed tool_calls with `index`. Faults are queued per request:
// 429 with Retry-After, 5xx, hangs (timeouts), and mid-stream cuts.
// It bills the way providers do (provider-billing.ts: real o200k token counts, OpenAI's documented
// image and tool costs), never the way the proxy estimates; `billed` records every usage it
// charged, including for streams that never reported it. Like llama.cpp, Ollama and TGI it honours
// their length fields (`n_predict`, `num_predict`, `max_new_tokens`) over max_tokens, and `n`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { generate, type ImageCost, promptTokensOf, tokens } from "./provider-billing.js";

export type Fault =
  | { status: number; retryAfter?: string; message?: string }
  | { hang: true }
  /** Non-streaming: headers and the start of the JSON, then silence (an upstream that stalls). */
  | { stallBody: true }
  | { cutAfterChunks: number }
  | { delayMs: number };

export interface MockOptions {
  /** The reply, one stream chunk per word. */
  reply?: string;
  /** Reasoning streamed (`reasoning_content`) before the reply, billed as completion tokens. */
  reasoning?: string;
  /** Keep generating (repeating the reply) until the length limit, as a model that rambles does. */
  ramble?: boolean;
  /** Image costs of the model served (default gpt-4o's 85 + 170 per tile). */
  images?: ImageCost;
  /** Delay between stream chunks. */
  chunkDelayMs?: number;
  /**
   * Delay before the first chunk after the role chunk (time to first token), in place of chunkDelayMs
   * there: a real model sends headers and the role at once, then thinks, then streams at a steady pace.
   */
  firstChunkDelayMs?: number;
  /** Omit usage even when asked (an upstream that ignores include_usage). */
  noUsage?: boolean;
}

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
}

export interface MockUpstream {
  url: string;
  /** The usage of every answer it produced (what the provider charges), reported or not. */
  billed: Usage[];
  /** The listening server, e.g. to tune its keep-alive timeout. */
  server: Server;
  requests: RecordedRequest[];
  /** Completed answers (2xx bodies fully written), for "billed once" checks. */
  answered: number;
  faults: Fault[];
  options: MockOptions;
  close(): Promise<void>;
}

interface ChatBody {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages?: Array<{ role: string; content?: unknown }>;
  tools?: Array<{ function?: { name?: string } }>;
  functions?: Array<{ name?: string }>;
  max_tokens?: number;
  max_completion_tokens?: number;
  n_predict?: number;
  num_predict?: number;
  max_new_tokens?: number;
  n?: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export async function startMockUpstream(options: MockOptions = {}): Promise<MockUpstream> {
  const state = {
    requests: [] as RecordedRequest[],
    answered: 0,
    billed: [] as Usage[],
    faults: [] as Fault[],
    options,
  };
  let url = "";
  let counter = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8"));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string) {
    if (req.method === "GET" && req.url?.includes("/images/")) {
      res.writeHead(200, { "content-type": "image/png" });
      res.end();
      return;
    }
    if (req.method === "GET" && req.url?.endsWith("/models")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ object: "list", data: [{ id: "mock-model", object: "model", owned_by: "mock" }] }),
      );
      return;
    }
    let body: ChatBody;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: { message: "bad json", type: "invalid_request_error", param: null, code: null },
        }),
      );
      return;
    }
    state.requests.push({ path: req.url ?? "", headers: req.headers, body: body as Record<string, unknown> });
    const fault = state.faults.shift();
    if (fault && "status" in fault) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      res.end(
        JSON.stringify({
          error: {
            message: fault.message ?? `mock ${fault.status}`,
            type: "mock_error",
            param: null,
            code: null,
          },
        }),
      );
      return;
    }
    if (fault && "hang" in fault) return; // never answers; the client's timeout ends it
    if (fault && "stallBody" in fault) {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"id":"chatcmpl-stalled","object":"chat.completion",');
      return; // never ends; the client's timeout ends it
    }
    if (fault && "delayMs" in fault) await sleep(fault.delayMs);
    if (
      req.url?.endsWith("/embeddings") ||
      req.url?.endsWith("/responses") ||
      req.url?.endsWith("/v1/completions")
    ) {
      otherEndpoint(req.url, body as Record<string, unknown>, res);
      state.answered++;
      return;
    }

    const id = `chatcmpl-mock-${++counter}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model ?? "mock-model";
    const last = body.messages?.at(-1);
    const toolName =
      body.tools?.length && last?.role === "user" ? (body.tools[0]?.function?.name ?? "tool") : undefined;
    let promptTokens: number;
    try {
      promptTokens = promptTokensOf(body as Record<string, unknown>, {
        mockUrl: url,
        ...(state.options.images ? { images: state.options.images } : {}),
      });
    } catch (e) {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: { message: (e as Error).message, type: "invalid_request_error", param: null, code: null },
        }),
      );
      return;
    }
    // Provider length fields win over max_tokens, as in llama.cpp / Ollama / TGI.
    const limit =
      body.n_predict ??
      body.num_predict ??
      body.max_new_tokens ??
      body.max_completion_tokens ??
      body.max_tokens ??
      (state.options.ramble ? 4096 : Number.POSITIVE_INFINITY);
    const thought = generate(state.options.reasoning ?? "", limit, false);
    const said = generate(
      state.options.reply ?? "Hello from the mock upstream",
      Math.max(1, limit - thought.tokens),
      state.options.ramble === true,
    );
    const kept = said.pieces;
    const toolArgs = ['{"city":', '"Paris"}'];
    const choices = Math.max(1, body.n ?? 1);
    const perChoice =
      thought.tokens + (toolName ? tokens(toolArgs.join("")) + tokens(toolName) : said.tokens);
    const completionTokens = perChoice * choices;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
    // Billed once the answer went out (an attempt the client abandoned, e.g. on its timeout, is not).
    res.once("finish", () => state.billed.push(usage));

    if (!body.stream) {
      const message = toolName
        ? {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: `call_${id}`,
                type: "function",
                function: { name: toolName, arguments: toolArgs.join("") },
              },
            ],
          }
        : {
            role: "assistant",
            content: kept.join(""),
            ...(thought.pieces.length ? { reasoning_content: thought.pieces.join("") } : {}),
          };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: Array.from({ length: choices }, (_, index) => ({
            index,
            message,
            logprobs: null,
            finish_reason: toolName ? "tool_calls" : "stop",
          })),
          ...(state.options.noUsage ? {} : { usage }),
        }),
      );
      state.answered++;
      return;
    }

    const includeUsage = body.stream_options?.include_usage === true && !state.options.noUsage;
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    // One frame carries the same delta for each of the n choices.
    const frame = (one: Array<Record<string, unknown>>) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_mock", choices: one.flatMap((c) => Array.from({ length: choices }, (_, index) => ({ ...c, index }))), ...(includeUsage ? { usage: null } : {}) })}\n\n`;
    const frames: string[] = [];
    if (toolName) {
      frames.push(
        frame([
          {
            index: 0,
            delta: {
              role: "assistant",
              content: null,
              tool_calls: [
                { index: 0, id: `call_${id}`, type: "function", function: { name: toolName, arguments: "" } },
              ],
            },
            logprobs: null,
            finish_reason: null,
          },
        ]),
      );
      for (const part of toolArgs) {
        frames.push(
          frame([
            {
              index: 0,
              delta: { tool_calls: [{ index: 0, function: { arguments: part } }] },
              logprobs: null,
              finish_reason: null,
            },
          ]),
        );
      }
      frames.push(frame([{ index: 0, delta: {}, logprobs: null, finish_reason: "tool_calls" }]));
    } else {
      frames.push(
        frame([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]),
      );
      for (const piece of thought.pieces)
        frames.push(
          frame([{ index: 0, delta: { reasoning_content: piece }, logprobs: null, finish_reason: null }]),
        );
      for (const piece of kept)
        frames.push(frame([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]));
      frames.push(frame([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]));
    }
    if (includeUsage) {
      frames.push(
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_mock", choices: [], usage })}\n\n`,
      );
    }
    frames.push("data: [DONE]\n\n");
    const cutAt = fault && "cutAfterChunks" in fault ? fault.cutAfterChunks : undefined;
    for (let i = 0; i < frames.length; i++) {
      if (cutAt !== undefined && i >= cutAt) {
        await sleep(20); // let the frames already written reach the proxy first
        state.billed.push(usage); // generated, then the connection died
        res.destroy(); // mid-stream cut: the socket dies without [DONE] or usage
        return;
      }
      const delay =
        i === 1
          ? (state.options.firstChunkDelayMs ?? state.options.chunkDelayMs)
          : state.options.chunkDelayMs;
      if (i > 0 && delay) await sleep(delay);
      if (res.destroyed) return;
      res.write(frames[i]);
    }
    res.end();
    state.answered++;
  }

  /** /embeddings, the native /responses (JSON and its event stream) and legacy /completions. */
  function otherEndpoint(url: string, body: Record<string, unknown>, res: ServerResponse) {
    const promptTokens = otherPromptTokens(url, body);
    const said = generate(
      state.options.reply ?? "Hello from the mock upstream",
      Number.POSITIVE_INFINITY,
      false,
    );
    const words = said.pieces.map((p) => p.trim());
    const outputTokens = url.endsWith("/embeddings") ? 0 : said.tokens;
    const json = (value: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    res.once("finish", () =>
      state.billed.push({
        prompt_tokens: promptTokens,
        completion_tokens: outputTokens,
        total_tokens: promptTokens + outputTokens,
      }),
    );
    if (url.endsWith("/embeddings")) {
      const inputs = Array.isArray(body["input"]) ? body["input"] : [body["input"]];
      json({
        object: "list",
        model: body["model"],
        data: inputs.map((_, index) => ({ object: "embedding", index, embedding: [0.6, 0.8] })),
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      });
      return;
    }
    if (url.endsWith("/v1/completions")) {
      json({
        id: `cmpl-mock-${++counter}`,
        object: "text_completion",
        created: Math.floor(Date.now() / 1000),
        model: body["model"],
        choices: [{ index: 0, text: words.join(" "), finish_reason: "stop", logprobs: null }],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: outputTokens,
          total_tokens: promptTokens + outputTokens,
        },
      });
      return;
    }
    const id = `resp_mock_${++counter}`;
    const text = words.join(" ");
    const message = {
      type: "message",
      id: `msg_mock_${counter}`,
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text, annotations: [] }],
    };
    const response = (status: string, output: unknown[], usage: unknown) => ({
      id,
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      status,
      model: body["model"],
      output,
      usage,
    });
    const usage = {
      input_tokens: promptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: promptTokens + outputTokens,
    };
    if (!body["stream"]) {
      json(response("completed", [message], usage));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    let seq = 0;
    const event = (type: string, payload: Record<string, unknown>) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...payload })}\n\n`);
    event("response.created", { response: response("in_progress", [], null) });
    event("response.output_item.added", {
      output_index: 0,
      item: { ...message, status: "in_progress", content: [] },
    });
    for (const [i, w] of words.entries())
      event("response.output_text.delta", {
        item_id: message.id,
        output_index: 0,
        content_index: 0,
        delta: i ? ` ${w}` : w,
      });
    event("response.output_item.done", { output_index: 0, item: message });
    event("response.completed", { response: response("completed", [message], usage) });
    res.end();
  }

  /** Embeddings: tokens of every input; completions: of the prompt; Responses: its input as chat messages. */
  function otherPromptTokens(path: string, body: Record<string, unknown>): number {
    const text = (v: unknown): number =>
      typeof v === "string"
        ? tokens(v)
        : Array.isArray(v)
          ? v.reduce((n: number, x) => n + (typeof x === "number" ? 1 : text(x)), 0)
          : 0;
    if (path.endsWith("/embeddings")) return text(body["input"]);
    if (path.endsWith("/v1/completions")) return text(body["prompt"]);
    const input = body["input"];
    const items =
      typeof input === "string" ? [{ role: "user", content: input }] : Array.isArray(input) ? input : [];
    const messages = [
      ...(typeof body["instructions"] === "string"
        ? [{ role: "system", content: body["instructions"] }]
        : []),
      ...(items as Array<Record<string, unknown>>).map((item) => ({
        role: typeof item["role"] === "string" ? item["role"] : "user",
        content:
          typeof item["content"] === "string" ? item["content"] : JSON.stringify(item["content"] ?? item),
      })),
    ];
    return promptTokensOf({ messages, tools: body["tools"] ?? [] }, { mockUrl: url });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}/v1`;
  return {
    url,
    server,
    get billed() {
      return state.billed;
    },
    get requests() {
      return state.requests;
    },
    get answered() {
      return state.answered;
    },
    get faults() {
      return state.faults;
    },
    set faults(f: Fault[]) {
      state.faults = f;
    },
    get options() {
      return state.options;
    },
    set options(o: MockOptions) {
      state.options = o;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as MockUpstream;
}
