// What the demo model says: a pure function of the request, so a demo answer is reproducible.
// - tools (and tool_choice not "none") on a user turn: a call to the first (or the named) tool;
// - response_format json_object: a JSON object; json_schema: an object shaped by the schema;
// - a user turn that mentions markdown, code or a list: markdown with a list and a fenced code block;
// - otherwise: "Demo reply (local model, not an AI): you said …";
// - reasoning_effort / reasoning asked: a short reasoning text first (streamed as reasoning_content).
// Tokens are the pieces the reply is streamed in (a word with its trailing whitespace, or 4 JSON
// characters); usage counts exactly those.
import { valueForSchema } from "./schema-value.js";

export interface Message {
  role?: string;
  content?: unknown;
}
interface Tool {
  type?: string;
  function?: { name?: string; parameters?: { properties?: Record<string, { type?: string }> } };
}

export const DEMO_LABEL = "Demo reply (local model, not an AI)";

export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === "object" && "text" in p ? String((p as { text: unknown }).text) : ""))
      .join(" ");
  }
  return "";
}

export type Plan =
  | { kind: "tool"; name: string; args: string; reasoning: string[] }
  | { kind: "text"; pieces: string[]; finish: "stop" | "length"; reasoning: string[] };

/** Word pieces that keep their whitespace, so newlines survive streaming. */
export function wordPieces(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? [];
}

function jsonPieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 4) out.push(text.slice(i, i + 4));
  return out;
}

function markdownReply(said: string): string {
  return [
    `**${DEMO_LABEL}**`,
    "",
    "You asked for markdown; here is what it looks like:",
    "",
    `> ${said.replace(/\s+/g, " ").slice(0, 160)}`,
    "",
    "- a bullet point",
    "- another one, with `inline code`",
    "",
    "```js",
    "// a fenced code block",
    'console.log("hello from the demo model");',
    "```",
    "",
  ].join("\n");
}

function wantsReasoning(body: Record<string, unknown>): boolean {
  const effort = body["reasoning_effort"];
  const reasoning = body["reasoning"];
  if (typeof effort === "string") return effort !== "none";
  return Boolean(
    reasoning && typeof reasoning === "object" && (reasoning as { effort?: unknown }).effort !== "none",
  );
}

function jsonReply(body: Record<string, unknown>, said: string): string | undefined {
  const format = body["response_format"] as
    | { type?: string; json_schema?: { schema?: unknown; name?: string } }
    | undefined;
  if (format?.type === "json_object") {
    return JSON.stringify({ demo: "local model, not an AI", you_said: said.slice(0, 200) });
  }
  if (format?.type === "json_schema") {
    return JSON.stringify(valueForSchema(format.json_schema?.schema ?? {}, said.slice(0, 40)));
  }
  return undefined;
}

export function plan(body: Record<string, unknown>, maxTokens: number): Plan {
  const messages = (Array.isArray(body["messages"]) ? body["messages"] : []) as Message[];
  const last = messages.at(-1);
  const tools = (Array.isArray(body["tools"]) ? body["tools"] : []) as Tool[];
  const toolChoice = body["tool_choice"];
  const said = last?.role === "tool" ? `tool result ${textOf(last.content)}` : textOf(last?.content);
  const reasoning = wantsReasoning(body)
    ? wordPieces(`The user said "${said.slice(0, 80)}". A demo model does not think; this is its reasoning.`)
    : [];

  if (tools.length > 0 && toolChoice !== "none" && last?.role === "user") {
    const chosen =
      (toolChoice && typeof toolChoice === "object"
        ? tools.find((t) => t.function?.name === (toolChoice as Tool).function?.name)
        : undefined) ?? tools[0]!;
    const props = chosen.function?.parameters?.properties ?? {};
    const key = Object.keys(props)[0];
    const args = JSON.stringify(key ? { [key]: textOf(last.content).slice(0, 64) } : {});
    return { kind: "tool", name: chosen.function?.name ?? "tool", args, reasoning };
  }
  const json = jsonReply(body, said);
  let pieces: string[];
  if (json !== undefined) pieces = jsonPieces(json);
  else if (/markdown|\bcode\b|```|\blist\b/i.test(said)) pieces = wordPieces(markdownReply(said));
  else pieces = wordPieces(`${DEMO_LABEL}: you said ${said.slice(0, 200)}`);
  const budget = Math.max(1, maxTokens - reasoning.length);
  const kept = pieces.slice(0, budget);
  return {
    kind: "text",
    pieces: kept,
    finish: kept.length < pieces.length ? "length" : "stop",
    reasoning: reasoning.slice(0, Math.max(0, maxTokens - 1)),
  };
}

/** Output tokens of one choice: what it streams. */
export function tokensOf(p: Plan): number {
  return (
    p.reasoning.length + (p.kind === "tool" ? Math.max(1, Math.ceil(p.args.length / 4) + 2) : p.pieces.length)
  );
}
