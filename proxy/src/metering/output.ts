// What a stream produced, for streams that end without usage (cut, or an upstream that ignores
// include_usage). Every string a delta carries counts, not only `content`: reasoning
// (`reasoning_content`, `reasoning`, `reasoning_details`), `refusal`, tool and function names and
// arguments, audio transcripts and data, and whatever a provider adds later. Only the structural
// strings (role, ids, types) are left out. The bound is the larger of the deltas seen (a provider
// streams at least one token per delta that carries text) and the text's token count (tokens.ts:
// exact for a known tokenizer, UTF-8 bytes otherwise).
import type { TokenCounter } from "./tokens.js";

const STRUCTURAL = new Set(["role", "id", "type", "index"]);

export class ProducedOutput {
  readonly texts: string[] = [];
  deltas = 0;

  /**
   * One parsed stream event: a chat.completion.chunk (choices[].delta), a legacy completion chunk
   * (choices[].text) or a Responses API event (a `delta` string: output text, reasoning, refusal,
   * function call arguments).
   */
  add(chunk: { choices?: unknown; delta?: unknown }): void {
    if (typeof chunk.delta === "string" && chunk.delta.length > 0) {
      this.texts.push(chunk.delta);
      this.deltas++;
    }
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      const c = choice as { delta?: unknown; text?: unknown } | null;
      if (typeof c?.text === "string" && c.text.length > 0) {
        this.texts.push(c.text);
        this.deltas++;
      }
      if (c?.delta && typeof c.delta === "object" && this.#collect(c.delta, 0)) this.deltas++;
    }
  }

  /** Pushes the delta's strings; true when it carried any text. */
  #collect(value: object, depth: number): boolean {
    if (depth > 16) return false;
    let found = false;
    for (const [key, v] of Object.entries(value)) {
      if (STRUCTURAL.has(key)) continue;
      if (typeof v === "string") {
        if (v.length > 0) {
          this.texts.push(v);
          found = true;
        }
      } else if (v && typeof v === "object") {
        found = this.#collect(v, depth + 1) || found;
      }
    }
    return found;
  }
}

/** Output tokens to bill for what was produced: never below what the upstream can have billed. */
export function producedTokens(produced: ProducedOutput, counter: TokenCounter): number {
  let tokens = 0;
  for (const text of produced.texts) tokens += counter.count(text);
  return Math.max(tokens, produced.deltas);
}
