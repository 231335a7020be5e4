// A mock OpenAI upstream speaking the real wire format: JSON completions, SSE streams
// (`data: {...}\n\n`, `data: [DONE]`), usage in a final `choices: []` chunk when
// stream_options.include_usage is set, streamed tool_calls with `index`. Faults are queued per request:
// 429 with Retry-After, 5xx, hangs (timeouts), and mid-stream cuts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

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
  promptTokens?: number;
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
  max_tokens?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startMockUpstream(options: MockOptions = {}): Promise<MockUpstream> {
  const state = { requests: [] as RecordedRequest[], answered: 0, faults: [] as Fault[], options };
  let counter = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8"));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string) {
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
    const words = (state.options.reply ?? "Hello from the mock upstream").split(" ");
    const limit = body.max_tokens ?? Number.POSITIVE_INFINITY;
    const kept = words.slice(0, Math.max(1, Math.min(words.length, limit)));
    const toolArgs = ['{"city":', '"Paris"}'];
    const completionTokens = toolName ? 7 : kept.length;
    const usage = {
      prompt_tokens: state.options.promptTokens ?? 10,
      completion_tokens: completionTokens,
      total_tokens: (state.options.promptTokens ?? 10) + completionTokens,
    };

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
        : { role: "assistant", content: kept.join(" ") };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message, logprobs: null, finish_reason: toolName ? "tool_calls" : "stop" }],
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
    const frame = (choices: unknown[]) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_mock", choices, ...(includeUsage ? { usage: null } : {}) })}\n\n`;
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
      kept.forEach((w, i) => {
        frames.push(
          frame([
            { index: 0, delta: { content: i === 0 ? w : ` ${w}` }, logprobs: null, finish_reason: null },
          ]),
        );
      });
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
    const promptTokens = state.options.promptTokens ?? 10;
    const words = (state.options.reply ?? "Hello from the mock upstream").split(" ");
    const json = (value: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
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
          completion_tokens: words.length,
          total_tokens: promptTokens + words.length,
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
      output_tokens: words.length,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: promptTokens + words.length,
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

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    server,
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
