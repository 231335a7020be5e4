// What to reserve before forwarding: priced estimate(prompt) + max output tokens (x n choices).
import type { ModelConfig } from "../config.js";
import { errors } from "../errors.js";
import type { ConversationState } from "../store/types.js";
import { available } from "../store/types.js";
import { estimatePromptTokens } from "./estimate.js";
import { affordableOutputTokens, costOf, type Price } from "./prices.js";

export interface Quote {
  promptTokens: number;
  /** Output tokens reserved per choice. */
  maxOutputTokens: number;
  amount: bigint;
  /** Set when the client sent no limit: the proxy forwards this as max_tokens so upstream stays inside it. */
  injectedMaxTokens?: number;
}

export function quote(
  body: Record<string, unknown>,
  model: ModelConfig,
  price: Price,
  state: ConversationState,
  options: { defaultMaxTokens: number; charsPerToken: number },
): Quote {
  const promptTokens = estimatePromptTokens(body, options.charsPerToken);
  const choices = typeof body["n"] === "number" ? (body["n"] as number) : 1;
  const requested = (body["max_completion_tokens"] ?? body["max_tokens"]) as number | null | undefined;
  if (typeof requested === "number") {
    return {
      promptTokens,
      maxOutputTokens: requested,
      amount: costOf(price, promptTokens, requested * choices),
    };
  }
  // No client limit: reserve the default cap, or less when the conversation cannot pay for it, so
  // the last units of a conversation stay usable.
  const cap = model.default_max_tokens ?? options.defaultMaxTokens;
  const affordable = affordableOutputTokens(price, promptTokens, available(state)) / BigInt(choices);
  const maxOutput = Number(affordable < BigInt(cap) ? affordable : BigInt(cap));
  if (maxOutput < 1) {
    const needed = costOf(price, promptTokens, choices);
    throw errors.insufficientQuota(needed, available(state));
  }
  return {
    promptTokens,
    maxOutputTokens: maxOutput,
    amount: costOf(price, promptTokens, maxOutput * choices),
    injectedMaxTokens: maxOutput,
  };
}
