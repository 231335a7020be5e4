// Chat completion chunks -> the Responses API's streaming events, in OpenAI's order:
//   response.created, response.in_progress,
//   per output item: response.output_item.added, then
//     reasoning:  response.reasoning_summary_part.added, response.reasoning_summary_text.delta*,
//                 response.reasoning_summary_text.done, response.reasoning_summary_part.done
//     message:    response.content_part.added, response.output_text.delta* (or refusal.delta*),
//                 response.output_text.done (refusal.done), response.content_part.done
//     function:   response.function_call_arguments.delta*, response.function_call_arguments.done
//   response.output_item.done; finally response.completed (or .incomplete / .failed).
// Every event carries a sequence_number from 0. Only choice 0 is translated (Responses has no `n`).
import { errors } from "../errors.js";
import {
  type ChatUsageLike,
  newId,
  type ResponseFrame,
  responseObject,
  responseUsage,
  statusOf,
} from "./response.js";
import type { FunctionCallItem, MessageItem, OutputItem, ReasoningItem, ResponseObject } from "./types.js";

export type Emit = (type: string, payload: Record<string, unknown>) => void;

interface ChunkDelta {
  content?: string | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: Array<{
    index?: number;
    id?: string;
    function?: { name?: string; arguments?: string };
  }> | null;
}
export interface ChatChunk {
  choices?: Array<{ index?: number; delta?: ChunkDelta; finish_reason?: string | null }>;
  usage?: ChatUsageLike | null;
}

type Open =
  | { kind: "reasoning"; item: ReasoningItem; index: number; text: string }
  | { kind: "message"; item: MessageItem; index: number; text: string; part: "output_text" | "refusal" }
  | { kind: "function"; item: FunctionCallItem; index: number; toolIndex: number };

export class ResponsesEventWriter {
  #seq = 0;
  #open: Open | undefined;
  readonly #output: OutputItem[] = [];
  #finish: string | null | undefined;

  constructor(
    private readonly frame: ResponseFrame,
    private readonly emit: Emit,
  ) {}

  #send(type: string, payload: Record<string, unknown> = {}): void {
    this.emit(type, { type, sequence_number: this.#seq++, ...payload });
  }

  #snapshot(fields: Partial<ResponseObject> = {}): ResponseObject {
    return responseObject(this.frame, {
      status: "in_progress",
      incomplete_details: null,
      output: [...this.#output],
      usage: null,
      ...fields,
    });
  }

  start(): void {
    this.#send("response.created", { response: this.#snapshot() });
    this.#send("response.in_progress", { response: this.#snapshot() });
  }

  chunk(chunk: ChatChunk): void {
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      if (!choice || (choice.index ?? 0) !== 0) continue;
      const d = choice.delta ?? {};
      const reasoning = d.reasoning_content ?? d.reasoning;
      if (typeof reasoning === "string" && reasoning) this.#reasoning(reasoning);
      if (typeof d.content === "string" && d.content) this.#text(d.content, "output_text");
      if (typeof d.refusal === "string" && d.refusal) this.#text(d.refusal, "refusal");
      if (Array.isArray(d.tool_calls)) for (const call of d.tool_calls) this.#toolCall(call ?? {});
      if (choice.finish_reason) this.#finish = choice.finish_reason;
    }
  }

  #add(open: Open): void {
    this.#open = open;
    this.#send("response.output_item.added", { output_index: open.index, item: { ...open.item } });
  }

  #reasoning(delta: string): void {
    let open = this.#open;
    if (open?.kind !== "reasoning") {
      this.#close();
      open = {
        kind: "reasoning",
        item: { type: "reasoning", id: newId("rs"), summary: [] },
        index: this.#output.length,
        text: "",
      };
      this.#add(open);
      this.#send("response.reasoning_summary_part.added", {
        item_id: open.item.id,
        output_index: open.index,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      });
    }
    open.text += delta;
    this.#send("response.reasoning_summary_text.delta", {
      item_id: open.item.id,
      output_index: open.index,
      summary_index: 0,
      delta,
    });
  }

  #text(delta: string, part: "output_text" | "refusal"): void {
    let open = this.#open;
    if (open?.kind !== "message" || open.part !== part) {
      this.#close();
      const item: MessageItem = {
        type: "message",
        id: newId("msg"),
        status: "in_progress",
        role: "assistant",
        content: [],
      };
      open = { kind: "message", item, index: this.#output.length, text: "", part };
      this.#add(open);
      this.#send("response.content_part.added", {
        item_id: item.id,
        output_index: open.index,
        content_index: 0,
        part:
          part === "refusal"
            ? { type: "refusal", refusal: "" }
            : { type: "output_text", text: "", annotations: [], logprobs: [] },
      });
    }
    open.text += delta;
    this.#send(part === "refusal" ? "response.refusal.delta" : "response.output_text.delta", {
      item_id: open.item.id,
      output_index: open.index,
      content_index: 0,
      delta,
      ...(part === "output_text" ? { logprobs: [] } : {}),
    });
  }

  #toolCall(call: NonNullable<ChunkDelta["tool_calls"]>[number]): void {
    const toolIndex = call.index ?? 0;
    let open = this.#open;
    if (open?.kind !== "function" || open.toolIndex !== toolIndex) {
      this.#close();
      const item: FunctionCallItem = {
        type: "function_call",
        id: newId("fc"),
        call_id: call.id ?? newId("call"),
        name: call.function?.name ?? "",
        arguments: "",
        status: "in_progress",
      };
      open = { kind: "function", item, index: this.#output.length, toolIndex };
      this.#add(open);
    }
    const delta = call.function?.arguments;
    if (delta) {
      open.item.arguments += delta;
      this.#send("response.function_call_arguments.delta", {
        item_id: open.item.id,
        output_index: open.index,
        delta,
      });
    }
  }

  /** Ends the open output item with its done events. */
  #close(status: "completed" | "incomplete" = "completed"): void {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    const base = { item_id: open.item.id, output_index: open.index };
    let done: OutputItem;
    if (open.kind === "reasoning") {
      const part = { type: "summary_text" as const, text: open.text };
      this.#send("response.reasoning_summary_text.done", { ...base, summary_index: 0, text: open.text });
      this.#send("response.reasoning_summary_part.done", { ...base, summary_index: 0, part });
      done = { ...open.item, summary: [part] };
    } else if (open.kind === "message") {
      const part =
        open.part === "refusal"
          ? { type: "refusal" as const, refusal: open.text }
          : { type: "output_text" as const, text: open.text, annotations: [], logprobs: [] };
      if (open.part === "refusal")
        this.#send("response.refusal.done", { ...base, content_index: 0, refusal: open.text });
      else
        this.#send("response.output_text.done", { ...base, content_index: 0, text: open.text, logprobs: [] });
      this.#send("response.content_part.done", { ...base, content_index: 0, part });
      done = { ...open.item, status, content: [part] };
    } else {
      this.#send("response.function_call_arguments.done", {
        ...base,
        name: open.item.name,
        arguments: open.item.arguments,
      });
      done = { ...open.item, status };
    }
    this.#output.push(done);
    this.#send("response.output_item.done", { output_index: open.index, item: done });
  }

  /**
   * The terminal event. `cut`: the upstream stream broke off (response.failed); otherwise
   * response.completed, or response.incomplete when the model hit its token limit.
   */
  finish(result: { usage?: ChatUsageLike; cost?: bigint; cut?: boolean }): ResponseObject {
    const status = result.cut
      ? { status: "failed" as const, incomplete_details: null }
      : statusOf(this.#finish);
    this.#close(status.status === "completed" ? "completed" : "incomplete");
    const response = this.#snapshot({
      ...status,
      usage: responseUsage(result.usage, result.cost),
      // Responses' error object takes one of its own codes: server_error, with the proxy's message.
      ...(result.cut ? { error: { code: "server_error", message: errors.streamCut().message } } : {}),
    });
    const type =
      response.status === "failed"
        ? "response.failed"
        : response.status === "incomplete"
          ? "response.incomplete"
          : "response.completed";
    this.#send(type, { response });
    return response;
  }
}
