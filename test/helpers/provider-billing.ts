// How a real provider counts what it bills, for the mock upstream. Written from OpenAI's public
// documentation, independently of the proxy's bound (proxy/src/metering), so tests compare the
// proxy's reservation against what a provider would charge, not against the proxy's own estimate:
// - Chat messages (OpenAI cookbook "How to count tokens with tiktoken"): 3 tokens per message, the
//   tokens of every string field (role, content, name, tool call names/arguments, tool_call_id),
//   +1 per `name`, +3 to prime the reply. Special-token strings in user text are plain text.
// - Tools / legacy functions are rendered as a TypeScript namespace inside the system prompt
//   ("namespace functions { // description \n type name = (_: { ... }) => any; }"), then tokenized.
// - Images (vision guide): `detail: low` costs the base (85 for gpt-4o); otherwise the image is
//   scaled to fit 2048x2048, then its short side to 768, and costs base + tile x 512-px tiles
//   (170 per tile for gpt-4o; gpt-4o-mini bills 2833 + 5667 per tile). The mock "fetches" images from
//   data: URLs and from its own /images/<w>x<h>.png route; any other URL fails as unreachable.
// - Audio input: 10 tokens per second of WAV audio.
// - Output: every generated token is a completion token, reasoning included (usage reports them in
//   completion_tokens, as OpenAI does), times `n` choices.
import { crc32 } from "node:zlib";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";

const plain = { disallowedSpecial: new Set<string>() };
export const tokens = (text: string) => countTokens(text, plain);
tokens("warm up the encoder once, at import, not on the first request a mock answers");

export interface ImageCost {
  base: number;
  tile: number;
}
export const GPT_4O_IMAGES: ImageCost = { base: 85, tile: 170 };

/** Dimensions of a PNG/GIF/JPEG data URL or a mock image URL; undefined when it cannot be read. */
export function imageDimensions(url: string, mockUrl: string): { width: number; height: number } | undefined {
  const own = /\/images\/(\d+)x(\d+)\.png$/.exec(url);
  if (own && url.startsWith(mockUrl)) return { width: Number(own[1]), height: Number(own[2]) };
  const data = /^data:image\/[a-z+]+;base64,(.+)$/.exec(url);
  if (!data) return undefined;
  const b = Buffer.from(data[1]!, "base64");
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47)
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.length >= 10 && b.toString("latin1", 0, 3) === "GIF")
    return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b[0] === 0xff && b[1] === 0xd8) {
    for (let i = 2; i + 9 < b.length; ) {
      if (b[i] !== 0xff) return undefined;
      const marker = b[i + 1]!;
      const len = b.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xc3)
        return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      i += 2 + len;
    }
  }
  return undefined;
}

export function imageTokens(
  dims: { width: number; height: number },
  detail: string,
  cost: ImageCost,
): number {
  if (detail === "low") return cost.base;
  let { width: w, height: h } = dims;
  if (w > 2048 || h > 2048) {
    const s = 2048 / Math.max(w, h);
    w = Math.floor(w * s);
    h = Math.floor(h * s);
  }
  if (Math.min(w, h) > 768) {
    const s = 768 / Math.min(w, h);
    w = Math.floor(w * s);
    h = Math.floor(h * s);
  }
  return cost.base + cost.tile * Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** Seconds of a WAV file (RIFF header: byte rate at 28, data chunk size). */
export function wavSeconds(base64: string): number {
  const b = Buffer.from(base64, "base64");
  if (b.length < 44 || b.toString("latin1", 0, 4) !== "RIFF") throw new Error("not a WAV file");
  const byteRate = b.readUInt32LE(28);
  let i = 12;
  while (i + 8 <= b.length) {
    const id = b.toString("latin1", i, i + 4);
    const size = b.readUInt32LE(i + 4);
    if (id === "data") return size / byteRate;
    i += 8 + size;
  }
  throw new Error("WAV without data");
}

interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  items?: JsonSchema;
}

function tsType(s: JsonSchema | undefined, indent: string): string {
  if (!s) return "any";
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === "array") return `${tsType(s.items, indent)}[]`;
  if (type === "object" || s.properties) {
    const inner = Object.entries(s.properties ?? {})
      .map(([k, v]) => {
        const desc = v.description ? `${indent}  // ${v.description}\n` : "";
        const opt = s.required?.includes(k) ? "" : "?";
        return `${desc}${indent}  ${k}${opt}: ${tsType(v, `${indent}  `)},`;
      })
      .join("\n");
    return `{\n${inner}\n${indent}}`;
  }
  return type === "integer" ? "number" : (type ?? "any");
}

/** The namespace OpenAI renders tool definitions into. */
export function renderFunctions(
  fns: Array<{ name?: string; description?: string; parameters?: JsonSchema }>,
): string {
  const body = fns
    .map((f) => {
      const desc = f.description ? `// ${f.description}\n` : "";
      const params = f.parameters?.properties && Object.keys(f.parameters.properties).length > 0;
      return `${desc}type ${f.name ?? "f"} = (${params ? `_: ${tsType(f.parameters, "")}` : ""}) => any;`;
    })
    .join("\n\n");
  return `# Tools\n\n## functions\n\nnamespace functions {\n\n${body}\n\n} // namespace functions`;
}

export interface BillingOptions {
  mockUrl: string;
  images?: ImageCost;
}

interface Part {
  type?: string;
  text?: string;
  image_url?: { url?: string; detail?: string };
  input_audio?: { data?: string; format?: string };
}

/** Prompt tokens a provider bills for this request; throws (a 400) for what it cannot read. */
export function promptTokensOf(body: Record<string, unknown>, options: BillingOptions): number {
  const images = options.images ?? GPT_4O_IMAGES;
  let n = 3;
  const messages = (body["messages"] ?? []) as Array<Record<string, unknown>>;
  for (const m of messages) {
    n += 3;
    for (const [key, value] of Object.entries(m)) {
      if (typeof value === "string") {
        n += tokens(value);
        if (key === "name") n += 1;
      } else if (key === "content" && Array.isArray(value)) {
        for (const part of value as Part[]) {
          if (part.type === "text" || part.type === "refusal") n += tokens(part.text ?? "");
          else if (part.type === "image_url") {
            const dims = imageDimensions(part.image_url?.url ?? "", options.mockUrl);
            if (!dims) throw new Error("Invalid image URL: the image could not be downloaded");
            n += imageTokens(dims, part.image_url?.detail ?? "auto", images);
          } else if (part.type === "input_audio")
            n += Math.ceil(wavSeconds(part.input_audio?.data ?? "") * 10);
          else throw new Error(`unsupported content part ${part.type}`);
        }
      } else if (key === "tool_calls" && Array.isArray(value)) {
        for (const call of value as Array<{ id?: string; function?: { name?: string; arguments?: string } }>)
          n += 3 + tokens(call.function?.name ?? "") + tokens(call.function?.arguments ?? "");
      } else if (key === "function_call" && value && typeof value === "object") {
        const call = value as { name?: string; arguments?: string };
        n += tokens(call.name ?? "") + tokens(call.arguments ?? "");
      }
    }
  }
  const tools = (body["tools"] ?? []) as Array<{ function?: Record<string, unknown> }>;
  const functions = [...tools.map((t) => t.function ?? {}), ...((body["functions"] ?? []) as object[])];
  if (functions.length > 0) n += tokens(renderFunctions(functions as never)) + 12;
  const format = body["response_format"] as { type?: string; json_schema?: unknown } | undefined;
  if (format?.type === "json_schema") n += tokens(JSON.stringify(format.json_schema)) + 10;
  return n;
}

/** Splits generated text into stream pieces of whole words within a token budget (the mock's output). */
export function generate(
  text: string,
  budget: number,
  ramble: boolean,
): { pieces: string[]; tokens: number } {
  const words = text.split(" ").filter(Boolean);
  const pieces: string[] = [];
  let used = 0;
  for (let i = 0; words.length > 0 && (ramble || i < words.length); i++) {
    const piece = pieces.length === 0 ? words[i % words.length]! : ` ${words[i % words.length]!}`;
    const cost = tokens(piece);
    if (used + cost > budget) break;
    pieces.push(piece);
    used += cost;
  }
  return { pieces, tokens: used };
}

/**
 * What the mock bills for a plain text answer to this body, in token units at the test prices
 * (1 per input token, 2 per output token): for tests that need the number before the request.
 */
export function billFor(body: Record<string, unknown>, reply: string): bigint {
  const limit = Number(body["max_completion_tokens"] ?? body["max_tokens"] ?? Number.POSITIVE_INFINITY);
  const prompt = promptTokensOf(body, { mockUrl: "" });
  return BigInt(prompt) + 2n * BigInt(generate(reply, limit, false).tokens);
}

/** A PNG data URL of the given size (header only: enough for any size reader). */
export function pngDataUrl(width: number, height: number): string {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IEND", Buffer.alloc(0)),
  ]);
  return `data:image/png;base64,${png.toString("base64")}`;
}
