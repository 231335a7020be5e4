// `openai-compatible`: any endpoint that speaks OpenAI's chat.completions (OpenAI, Azure OpenAI,
// vLLM, llama.cpp, Together, ...). The API key comes from the env var the config names; it only
// ever goes into the outgoing header (T13).
// Requests go through node:http(s) on a keep-alive agent rather than fetch: no per-request web
// Request/Response/ReadableStream objects, no connection setup per request, Nagle off; the proxy
// reads the body straight from the IncomingMessage (`UpstreamCall.raw`).
// Besides /chat/completions it forwards the endpoints the provider's `apis` config lists
// (/responses, /embeddings, /completions); the others are left undefined, so the proxy translates
// (Responses) or answers 404 naming the alternatives.
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { urlToHttpOptions } from "node:url";
import type { ProviderConfig } from "../../config.js";
import {
  type ModelInfo,
  type NodeUpstreamCall,
  type Upstream,
  type UpstreamApi,
  type UpstreamChatRequest,
  UpstreamError,
  type UpstreamHead,
  type UpstreamRequest,
} from "../types.js";

export interface OpenAiCompatibleOptions {
  config: ProviderConfig;
  env?: NodeJS.ProcessEnv;
}

/** Array content parts -> one string, for providers that reject `content: [{type:"text",...}]`. */
export function flattenContent(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages;
  return messages.map((m) => {
    if (!m || typeof m !== "object" || !Array.isArray((m as { content?: unknown }).content)) return m;
    const parts = (m as { content: unknown[] }).content;
    const text = parts
      .map((p) =>
        p && typeof p === "object" && (p as { type?: string }).type === "text"
          ? String((p as { text?: unknown }).text ?? "")
          : "",
      )
      .filter(Boolean)
      .join("\n");
    return { ...(m as object), content: text };
  });
}

export class OpenAiCompatibleUpstream implements Upstream {
  readonly name: string;
  readonly #config: ProviderConfig;
  readonly #headers: Record<string, string>;
  /** Where and how to connect per path, resolved once (node:http would convert a URL on every request). */
  readonly #targets = new Map<string, RequestOptions>();
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;

  constructor({ config, env = process.env }: OpenAiCompatibleOptions) {
    if (!config.base_url) throw new Error(`provider ${config.name}: base_url is required`);
    this.name = config.name;
    this.#config = config;
    const key = config.api_key_env ? env[config.api_key_env] : undefined;
    if (config.api_key_env && !key) {
      throw new Error(`provider ${config.name}: environment variable ${config.api_key_env} is not set`);
    }
    this.#headers = { "content-type": "application/json", ...config.headers };
    if (key) {
      if (config.auth_header === "api-key") this.#headers["api-key"] = key;
      else this.#headers["authorization"] = `Bearer ${key}`;
    }
    const query = new URLSearchParams(config.query).toString();
    const urlOf = (path: string) =>
      new URL(`${config.base_url!.replace(/\/+$/, "")}${path}${query ? `?${query}` : ""}`);
    const https = urlOf("/").protocol === "https:";
    // LIFO keeps the warmest sockets busy and lets idle ones time out; noDelay: SSE chunks are small.
    const agentOptions = { keepAlive: true, scheduling: "lifo" as const, noDelay: true };
    this.#agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.#request = https ? (httpsRequest as typeof httpRequest) : httpRequest;
    const apis: Array<[UpstreamApi | "chat", string]> = [
      ["chat", "/chat/completions"],
      ...config.apis.map((api): [UpstreamApi, string] => [api, `/${api}`]),
    ];
    for (const [api, path] of apis)
      this.#targets.set(api, { ...urlToHttpOptions(urlOf(path)), method: "POST", agent: this.#agent });
    if (!config.apis.includes("responses")) this.responses = undefined;
    if (!config.apis.includes("embeddings")) this.embeddings = undefined;
    if (!config.apis.includes("completions")) this.completions = undefined;
  }

  responses?: (request: UpstreamRequest) => Promise<NodeUpstreamCall> = (request) =>
    this.#post("responses", request.body, request.signal);
  embeddings?: (request: UpstreamRequest) => Promise<NodeUpstreamCall> = (request) =>
    this.#post("embeddings", request.body, request.signal);
  completions?: (request: UpstreamRequest) => Promise<NodeUpstreamCall> = (request) =>
    this.#post("completions", request.body, request.signal);

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  async listModels(): Promise<ModelInfo[]> {
    return Object.keys(this.#config.model_aliases).map((id) => ({
      id,
      owned_by: this.name,
      context_window: 0,
    }));
  }

  async chat(request: UpstreamChatRequest): Promise<NodeUpstreamCall> {
    const body =
      this.#config.content_format === "string"
        ? { ...request.body, messages: flattenContent(request.body["messages"]) }
        : request.body;
    return this.#post("chat", body, request.signal);
  }

  async #post(api: UpstreamApi | "chat", body: unknown, signal: AbortSignal): Promise<NodeUpstreamCall> {
    const target = this.#targets.get(api)!;
    const payload = Buffer.from(JSON.stringify(body));
    try {
      const raw = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = this.#request({
          ...target,
          headers: { ...this.#headers, "content-length": payload.byteLength },
          signal,
        });
        req.once("response", resolve);
        req.on("error", reject);
        req.end(payload);
      });
      // The proxy attaches its own listeners when it reads the body; this one only keeps an abort
      // after the headers (idle timeout, shutdown) from being an unhandled 'error'.
      raw.on("error", () => {});
      return { response: headOnly(raw), raw };
    } catch (e) {
      if (signal.aborted)
        throw new UpstreamError(504, `${this.name}: upstream timed out`, "upstream_timeout", true);
      // node:http's message names the host, never the headers, so it is safe to keep.
      throw new UpstreamError(502, `${this.name}: ${(e as Error).message}`, "upstream_unreachable", true);
    }
  }
}

/** Status and headers of a node:http answer; its body stays in the IncomingMessage. */
function headOnly(raw: IncomingMessage): UpstreamHead {
  const status = raw.statusCode ?? 502;
  return {
    status,
    ok: status >= 200 && status <= 299,
    headers: {
      get(name) {
        const value = raw.headers[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(", ") : String(value);
      },
    },
  };
}
