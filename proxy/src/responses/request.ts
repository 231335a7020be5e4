// Responses API request -> chat completions request (pure). `input` (a string or items), `instructions`,
// function tools and `function_call_output` items, `text.format` (json_schema, json_object),
// `max_output_tokens`, `reasoning.effort`, sampling knobs. Items that only OpenAI's servers can run
// (built-in tools, file ids) are refused with a 400 that names them. Earlier turns
// (`previous_response_id`, `item_reference`) are resolved by the caller (store.ts) and passed in.
import { z } from "zod";
import { errors } from "../errors.js";
import { parseBody } from "../relay/request.js";
import type { ResponseEcho, ResponseFunctionTool } from "./types.js";

export type ChatMessage = Record<string, unknown> & { role: string };

const functionTool = z.looseObject({
  type: z.literal("function"),
  name: z.string().min(1).max(256),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const requestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(z.looseObject({}))]).optional(),
  instructions: z.string().nullish(),
  tools: z
    .array(z.looseObject({ type: z.string() }))
    .max(512)
    .nullish(),
  tool_choice: z
    .union([
      z.enum(["auto", "none", "required"]),
      z.looseObject({ type: z.literal("function"), name: z.string() }),
      z.looseObject({ type: z.string() }),
    ])
    .nullish(),
  text: z
    .looseObject({
      format: z
        .union([
          z.looseObject({ type: z.literal("text") }),
          z.looseObject({ type: z.literal("json_object") }),
          z.looseObject({
            type: z.literal("json_schema"),
            name: z.string().min(1),
            schema: z.record(z.string(), z.unknown()),
            description: z.string().nullish(),
            strict: z.boolean().nullish(),
          }),
        ])
        .optional(),
    })
    .nullish(),
  max_output_tokens: z.number().int().positive().max(10_000_000).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  previous_response_id: z.string().min(1).max(256).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  user: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
});

export type ResponsesRequest = z.infer<typeof requestSchema>;

const unsupported = (what: string, param: string) =>
  errors.badRequest(
    `${what} is not supported by this proxy (it forwards to chat-completions models); send the content inline`,
    param,
    "unsupported_parameter",
  );

/**
 * Fields whose cost the proxy cannot see or bound: a background response is answered later (its
 * usage never passes through here); a stored conversation or a prompt template adds input the
 * proxy never reads.
 */
const UNMETERABLE: Array<[string, (v: unknown) => boolean, string]> = [
  ["background", (v) => v === true, "background responses (the proxy meters the answer it relays)"],
  ["conversation", (v) => v != null, "conversation (a stored OpenAI conversation)"],
  ["prompt", (v) => v != null, "prompt (a stored prompt template)"],
];

export function parseResponsesRequest(body: Record<string, unknown>): ResponsesRequest {
  for (const [field, present, what] of UNMETERABLE) if (present(body[field])) throw unsupported(what, field);
  const request = parseBody(requestSchema, body);
  if (request.input === undefined && !request.previous_response_id)
    throw errors.badRequest("invalid request: input is required", "input");
  return request;
}

type Part = Record<string, unknown> & { type?: string };

/** An input content part -> a chat content part. */
function chatPart(part: Part, param: string): Record<string, unknown> {
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
      return { type: "text", text: String(part["text"] ?? "") };
    case "refusal":
      return { type: "text", text: String(part["refusal"] ?? "") };
    case "input_image": {
      if (typeof part["image_url"] !== "string") throw unsupported("an input_image without image_url", param);
      const detail = part["detail"];
      return { type: "image_url", image_url: { url: part["image_url"], ...(detail ? { detail } : {}) } };
    }
    case "input_file": {
      if (typeof part["file_data"] !== "string") throw unsupported("an input_file without file_data", param);
      return {
        type: "file",
        file: { file_data: part["file_data"], ...(part["filename"] ? { filename: part["filename"] } : {}) },
      };
    }
    case "input_audio": {
      const audio = part["input_audio"] ?? { data: part["data"], format: part["format"] };
      return { type: "input_audio", input_audio: audio };
    }
    default:
      throw unsupported(`content part type '${String(part.type)}'`, param);
  }
}

function chatContent(content: unknown, param: string): unknown {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw errors.badRequest(`invalid request: ${param}: expected content`, param);
  const parts = content.map((p, i) => chatPart((p ?? {}) as Part, `${param}.${i}`));
  // Text-only content is sent as a string: every chat upstream accepts that.
  return parts.every((p) => p["type"] === "text") ? parts.map((p) => p["text"]).join("") : parts;
}

function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) return output.map((p) => String((p as Part)?.["text"] ?? "")).join("");
  return JSON.stringify(output ?? "");
}

/** Input items -> chat messages; consecutive function calls become one assistant message. */
export function inputMessages(
  input: ResponsesRequest["input"],
  resolve: (id: string) => Part | undefined = () => undefined,
): ChatMessage[] {
  if (input === undefined) return [];
  if (typeof input === "string") return [{ role: "user", content: input }];
  const out: ChatMessage[] = [];
  const lastAssistant = () => {
    const last = out.at(-1);
    if (last?.role === "assistant") return last;
    const fresh: ChatMessage = { role: "assistant", content: null };
    out.push(fresh);
    return fresh;
  };
  input.forEach((raw, i) => {
    const param = `input.${i}`;
    let item = raw as Part;
    if (item.type === "item_reference") {
      const found = typeof item["id"] === "string" ? resolve(item["id"]) : undefined;
      if (!found)
        throw errors.badRequest(
          `item_reference '${String(item["id"])}' is not known to this proxy (items of stored responses are kept in memory for a limited time; send the item itself, or store: false in the client)`,
          param,
          "item_not_found",
        );
      item = found;
    }
    const type = item.type ?? "message";
    if (type === "message") {
      const role = String(item["role"] ?? "user");
      if (!["user", "system", "developer", "assistant"].includes(role))
        throw errors.badRequest(`invalid request: ${param}.role: unknown role '${role}'`, `${param}.role`);
      const content = chatContent(item["content"], `${param}.content`);
      if (role === "assistant") {
        const msg = lastAssistant();
        msg["content"] = typeof msg["content"] === "string" ? `${msg["content"]}${String(content)}` : content;
      } else out.push({ role, content });
      return;
    }
    if (type === "function_call") {
      const msg = lastAssistant();
      const calls = (msg["tool_calls"] as unknown[] | undefined) ?? [];
      calls.push({
        id: String(item["call_id"] ?? ""),
        type: "function",
        function: { name: String(item["name"] ?? ""), arguments: String(item["arguments"] ?? "") },
      });
      msg["tool_calls"] = calls;
      return;
    }
    if (type === "function_call_output") {
      out.push({
        role: "tool",
        tool_call_id: String(item["call_id"] ?? ""),
        content: outputText(item["output"]),
      });
      return;
    }
    if (type === "reasoning") return; // chat completions take no reasoning items back
    throw unsupported(`input item type '${type}'`, param);
  });
  return out;
}

function chatTools(tools: ResponsesRequest["tools"]): { chat?: unknown[]; echo: ResponseFunctionTool[] } {
  if (!tools?.length) return { echo: [] };
  const echo = tools.map((t, i) => {
    if (t.type !== "function") throw unsupported(`the built-in tool '${t.type}'`, `tools.${i}`);
    const parsed = functionTool.safeParse(t);
    if (!parsed.success)
      throw errors.badRequest(`invalid request: tools.${i}: a function tool needs a name`, `tools.${i}`);
    return parsed.data as ResponseFunctionTool;
  });
  const chat = echo.map((t) => ({
    type: "function",
    function: {
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      parameters: t.parameters ?? { type: "object", properties: {} },
      ...(t.strict != null ? { strict: t.strict } : {}),
    },
  }));
  return { chat, echo };
}

function chatToolChoice(choice: ResponsesRequest["tool_choice"]): unknown {
  if (choice == null || typeof choice === "string") return choice ?? undefined;
  if (choice.type === "function")
    return { type: "function", function: { name: (choice as { name: string }).name } };
  throw unsupported(`tool_choice type '${choice.type}'`, "tool_choice");
}

function chatResponseFormat(format: Record<string, unknown> | undefined): unknown {
  if (!format || format["type"] === "text") return undefined;
  if (format["type"] === "json_object") return { type: "json_object" };
  const { type: _type, ...schema } = format;
  return { type: "json_schema", json_schema: schema };
}

export interface Translated {
  /** The chat completions body (no `stream`: the caller sets it). */
  chat: Record<string, unknown> & { model: string; messages: ChatMessage[] };
  /** The conversation so far without `instructions` (they are not carried over to a continuation). */
  turns: ChatMessage[];
  echo: ResponseEcho;
}

/**
 * The chat body for a Responses request. `history` is the conversation so far when the request
 * continues a stored response (previous_response_id), as chat messages.
 */
export function toChatBody(
  request: ResponsesRequest,
  options: { history?: ChatMessage[]; resolve?: (id: string) => Part | undefined } = {},
): Translated {
  const turns = [...(options.history ?? []), ...inputMessages(request.input, options.resolve)];
  if (turns.length === 0) throw errors.badRequest("invalid request: input is empty", "input");
  const messages: ChatMessage[] = request.instructions
    ? [{ role: "system", content: request.instructions }, ...turns]
    : [...turns];
  const tools = chatTools(request.tools);
  const format = request.text?.format as Record<string, unknown> | undefined;
  const chat: Translated["chat"] = { model: request.model, messages };
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) chat[key] = value;
  };
  set("tools", tools.chat);
  set("tool_choice", chatToolChoice(request.tool_choice));
  set("response_format", chatResponseFormat(format));
  set("max_completion_tokens", request.max_output_tokens);
  set("reasoning_effort", request.reasoning?.effort);
  set("temperature", request.temperature);
  set("top_p", request.top_p);
  if (tools.chat) set("parallel_tool_calls", request.parallel_tool_calls);
  set("user", request.user);
  return {
    chat,
    turns,
    echo: {
      instructions: request.instructions ?? null,
      max_output_tokens: request.max_output_tokens ?? null,
      parallel_tool_calls: request.parallel_tool_calls ?? true,
      previous_response_id: request.previous_response_id ?? null,
      reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? null },
      store: request.store ?? true,
      temperature: request.temperature ?? null,
      text: { format: format ?? { type: "text" } },
      tool_choice: request.tool_choice ?? "auto",
      tools: tools.echo,
      top_p: request.top_p ?? null,
      truncation: request.truncation ?? "disabled",
      user: request.user ?? null,
      metadata: request.metadata ?? {},
    },
  };
}
