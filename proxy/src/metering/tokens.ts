// Token counters. `bytes` is the safe bound for any byte-level BPE (GPT, Llama 3, Qwen, Mistral's
// tekken, ...): every token stands for at least one UTF-8 byte, so a text never has more tokens than
// bytes; it costs one Buffer.byteLength. The exact counters are OpenAI's encodings through
// gpt-tokenizer (pure JS, the fastest maintained one measured: bench/metering.bench.ts), loaded once
// at startup for the models that name them, and used only when the byte bound does not fit.
// Special-token strings in user text ("<|endoftext|>") count as ordinary text, as providers do.
import type { countTokens as CountTokens } from "gpt-tokenizer/encoding/o200k_base";

export type TokenizerName = "o200k_base" | "cl100k_base" | "bytes";

export interface TokenCounter {
  readonly name: TokenizerName;
  /** Exact for a real encoding; an upper bound for `bytes`. */
  readonly exact: boolean;
  count(text: string): number;
}

export const bytesCounter: TokenCounter = {
  name: "bytes",
  exact: false,
  count: (text) => Buffer.byteLength(text, "utf8"),
};

const loaded = new Map<TokenizerName, TokenCounter>([["bytes", bytesCounter]]);
const plainText = { disallowedSpecial: new Set<string>() };

/** Loads the encodings (about 200 ms and 30 MB for o200k_base, once per process). */
export async function loadTokenizers(names: Iterable<TokenizerName>): Promise<void> {
  for (const name of new Set(names)) {
    if (loaded.has(name)) continue;
    const mod = (await (name === "o200k_base"
      ? import("gpt-tokenizer/encoding/o200k_base")
      : import("gpt-tokenizer/encoding/cl100k_base"))) as { countTokens: typeof CountTokens };
    loaded.set(name, { name, exact: true, count: (text) => mod.countTokens(text, plainText) });
  }
}

/** The counter for a name; the byte bound when that encoding was not loaded (never too low). */
export function tokenCounter(name: TokenizerName): TokenCounter {
  return loaded.get(name) ?? bytesCounter;
}

/**
 * The tokenizer a model id implies when its config names none: OpenAI's documented encodings for
 * its own model families, the byte bound for everything else.
 */
export function tokenizerForModel(id: string): TokenizerName {
  const m = id.toLowerCase().replace(/^openai\//, "");
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)/.test(m)) return "o200k_base";
  if (/^(gpt-4|gpt-3\.5)/.test(m)) return "cl100k_base";
  return "bytes";
}
