// The prompt bound: an upper bound of the prompt tokens an upstream can bill for a request, so a
// reservation always covers the bill (T18). Every string the upstream may render counts (message
// text, names, tool calls and results, unknown message fields as their JSON), plus:
// - tools and legacy functions (as their JSON, which is longer than the TypeScript-like namespace
//   providers render them into) and a fixed overhead for that namespace, tool_choice/function_call,
//   response_format schemas;
// - image, audio and file parts at their per-model cost (media.ts); an unknown part type is refused;
// - the chat template: per_message tokens (OpenAI's documented 3, +1 for a name) and per_request
//   (3 to prime the reply). For `bytes` models, whose template is unknown, larger defaults.
// Strings are counted with a TokenCounter: UTF-8 bytes (the cheap bound: exact enough for any
// byte-level BPE, whatever the script, emoji or combining marks) or the model's encoding (exact).
import { errors } from "../errors.js";
import { type AudioCosts, audioTokens, fileTokens, type ImageCosts, imageTokens } from "./media.js";
import type { TokenCounter } from "./tokens.js";

export interface Overhead {
  per_message: number;
  per_request: number;
  /** Once when tools or functions are given (the namespace header and footer). */
  tools: number;
  per_tool: number;
}

/** OpenAI's documented chat format (3 per message, 1 per name, 3 to prime), tools with margin. */
export const OPENAI_OVERHEAD: Overhead = { per_message: 4, per_request: 3, tools: 24, per_tool: 8 };
/** Unknown chat templates (Llama, Qwen, Mistral, ...): room for special tokens and a default system prompt. */
export const TEMPLATE_OVERHEAD: Overhead = { per_message: 8, per_request: 64, tools: 128, per_tool: 16 };

export interface PromptCosts {
  overhead: Overhead;
  images: ImageCosts;
  audio: AudioCosts;
  fileTokens?: number;
}

/** Message fields that carry no text an upstream renders. */
const SKIPPED = new Set(["role"]);

const countJson = (value: unknown, counter: TokenCounter) => counter.count(JSON.stringify(value) ?? "");

function partTokens(part: unknown, costs: PromptCosts, counter: TokenCounter): number {
  if (!part || typeof part !== "object") return countJson(part, counter);
  const p = part as Record<string, unknown>;
  switch (p["type"]) {
    case "text":
    case "refusal": {
      const text = p["text"] ?? p["refusal"];
      return typeof text === "string" ? counter.count(text) : countJson(p, counter);
    }
    case "image_url": {
      const image = p["image_url"];
      return imageTokens(
        image && typeof image === "object" ? (image as Record<string, unknown>) : { url: image },
        costs.images,
        counter.exact,
      );
    }
    case "input_audio":
      return audioTokens((p["input_audio"] ?? {}) as Record<string, unknown>, costs.audio);
    case "file":
      return fileTokens(costs.fileTokens);
    default:
      throw errors.badRequest(
        `unsupported content part type ${JSON.stringify(p["type"])}: text, image_url, input_audio or file`,
        "messages",
        "unsupported_content",
      );
  }
}

function messageTokens(message: unknown, costs: PromptCosts, counter: TokenCounter): number {
  let n = costs.overhead.per_message;
  if (!message || typeof message !== "object") return n + countJson(message, counter);
  for (const [key, value] of Object.entries(message)) {
    if (SKIPPED.has(key) || value === null || value === undefined) continue;
    if (typeof value === "string") n += counter.count(value);
    else if (key === "content" && Array.isArray(value))
      for (const part of value) n += partTokens(part, costs, counter);
    else if (key === "audio")
      throw errors.badRequest(
        "assistant audio references cannot be bounded by this proxy: send the transcript as text",
        "messages",
        "unsupported_content",
      );
    else n += countJson(value, counter);
  }
  // role: at most a couple of tokens, and always a few bytes.
  return n + 2;
}

/** Upper bound of the prompt tokens of a chat.completions body (already field-checked). */
export function promptTokensBound(
  body: Record<string, unknown>,
  costs: PromptCosts,
  counter: TokenCounter,
): number {
  let n = costs.overhead.per_request;
  const messages = body["messages"];
  if (Array.isArray(messages)) for (const m of messages) n += messageTokens(m, costs, counter);
  let definitions = 0;
  for (const key of ["tools", "functions"]) {
    const list = body[key];
    if (!Array.isArray(list) || list.length === 0) continue;
    definitions += list.length;
    n += countJson(list, counter);
  }
  if (definitions > 0) n += costs.overhead.tools + definitions * costs.overhead.per_tool;
  for (const key of ["tool_choice", "function_call", "response_format"]) {
    const value = body[key];
    if (value !== undefined && value !== null) n += countJson(value, counter) + costs.overhead.per_tool;
  }
  return n;
}

/**
 * Output tokens beyond max_tokens x n: with predicted outputs, rejected prediction tokens are billed
 * as completion tokens, so the prediction's own length is added.
 */
export function extraOutputTokens(body: Record<string, unknown>, counter: TokenCounter): number {
  const prediction = body["prediction"];
  if (!prediction || typeof prediction !== "object") return 0;
  const content = (prediction as { content?: unknown }).content;
  return typeof content === "string" ? counter.count(content) : countJson(content, counter);
}
