// Chat completion -> Responses API response object (pure): reasoning, message and function_call
// output items, status/incomplete_details from finish_reason, usage in the Responses shape.
import { randomBytes } from "node:crypto";
import type {
  FunctionCallItem,
  MessageItem,
  OutputItem,
  ReasoningItem,
  ResponseEcho,
  ResponseObject,
  ResponseUsage,
} from "./types.js";

export const newId = (prefix: string) => `${prefix}_${randomBytes(16).toString("hex")}`;

export interface ChatUsageLike {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

export function responseUsage(usage: ChatUsageLike | undefined, cost?: bigint): ResponseUsage | null {
  if (!usage) return null;
  const input = usage.prompt_tokens ?? 0;
  const output = usage.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: input + output,
    ...(cost !== undefined ? { cost: cost.toString() } : {}),
  };
}

/** Responses status for a chat finish_reason. */
export function statusOf(
  finish: string | null | undefined,
): Pick<ResponseObject, "status" | "incomplete_details"> {
  if (finish === "length")
    return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finish === "content_filter")
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

export interface ResponseFrame {
  id: string;
  created_at: number;
  model: string;
  echo: ResponseEcho;
}

export function responseObject(
  frame: ResponseFrame,
  fields: Pick<ResponseObject, "status" | "incomplete_details" | "output" | "usage"> & {
    error?: ResponseObject["error"];
  },
): ResponseObject {
  return {
    id: frame.id,
    object: "response",
    created_at: frame.created_at,
    error: fields.error ?? null,
    model: frame.model,
    ...frame.echo,
    status: fields.status,
    incomplete_details: fields.incomplete_details,
    output: fields.output,
    usage: fields.usage,
  };
}

interface ChatMessageOut {
  content?: string | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> | null;
}

/** The output items of a chat completion's first choice (the Responses API has no `n`). */
export function outputItems(
  message: ChatMessageOut | undefined,
  status: MessageItem["status"],
): OutputItem[] {
  if (!message) return [];
  const out: OutputItem[] = [];
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === "string" && reasoning) {
    const item: ReasoningItem = {
      type: "reasoning",
      id: newId("rs"),
      summary: [{ type: "summary_text", text: reasoning }],
    };
    out.push(item);
  }
  const content = typeof message.content === "string" ? message.content : "";
  const refusal = typeof message.refusal === "string" ? message.refusal : "";
  if (content || refusal) {
    const item: MessageItem = {
      type: "message",
      id: newId("msg"),
      status,
      role: "assistant",
      content: refusal
        ? [{ type: "refusal", refusal }]
        : [{ type: "output_text", text: content, annotations: [], logprobs: [] }],
    };
    out.push(item);
  }
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    const item: FunctionCallItem = {
      type: "function_call",
      id: newId("fc"),
      call_id: call.id ?? newId("call"),
      name: call.function?.name ?? "",
      arguments: call.function?.arguments ?? "",
      status: "completed",
    };
    out.push(item);
  }
  return out;
}

export function fromChatCompletion(
  completion: Record<string, unknown>,
  frame: ResponseFrame,
  cost?: bigint,
): ResponseObject {
  const choices = completion["choices"];
  const choice = Array.isArray(choices)
    ? (choices[0] as { message?: ChatMessageOut; finish_reason?: string } | undefined)
    : undefined;
  const status = statusOf(choice?.finish_reason);
  return responseObject(frame, {
    ...status,
    output: outputItems(choice?.message, status.status === "completed" ? "completed" : "incomplete"),
    usage: responseUsage(completion["usage"] as ChatUsageLike | undefined, cost),
  });
}

/** `output_text`: what the SDKs' convenience getter returns, for logs and the store. */
export function outputText(response: Pick<ResponseObject, "output">): string {
  return response.output
    .flatMap((item) => (item.type === "message" ? item.content : []))
    .map((part) => (part.type === "output_text" ? part.text : ""))
    .join("");
}
