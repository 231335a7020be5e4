// `openai-compatible`: any endpoint that speaks OpenAI's chat.completions (OpenAI, Azure OpenAI,
// vLLM, llama.cpp, Together, ...). The API key comes from the env var the config names; it only
// ever goes into the outgoing header (T13).
import type { ProviderConfig } from "../../config.js";
import {
  type ModelInfo,
  type Upstream,
  type UpstreamCall,
  type UpstreamChatRequest,
  UpstreamError,
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
  readonly #url: string;

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
    this.#url = `${config.base_url.replace(/\/+$/, "")}/chat/completions${query ? `?${query}` : ""}`;
  }

  async listModels(): Promise<ModelInfo[]> {
    return Object.keys(this.#config.model_aliases).map((id) => ({
      id,
      owned_by: this.name,
      context_window: 0,
    }));
  }

  async chat(request: UpstreamChatRequest): Promise<UpstreamCall> {
    const body =
      this.#config.content_format === "string"
        ? { ...request.body, messages: flattenContent(request.body["messages"]) }
        : request.body;
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: this.#headers,
        body: JSON.stringify(body),
        signal: request.signal,
      });
      return { response };
    } catch (e) {
      if (request.signal.aborted)
        throw new UpstreamError(504, `${this.name}: upstream timed out`, "upstream_timeout", true);
      // fetch's message names the host, never the headers, so it is safe to keep.
      throw new UpstreamError(502, `${this.name}: ${(e as Error).message}`, "upstream_unreachable", true);
    }
  }
}
