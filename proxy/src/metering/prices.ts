// Prices in token base units per million tokens, BigInt end to end; costs round up so a request is
// never billed less than its usage.
import type { ModelConfig } from "../config.js";

export interface Price {
  input_per_million: bigint;
  output_per_million: bigint;
}

const MILLION = 1_000_000n;

export function priceOf(model: ModelConfig): Price {
  return { input_per_million: BigInt(model.input_price), output_per_million: BigInt(model.output_price) };
}

function nonNegativeInt(n: number | bigint): bigint {
  if (typeof n === "bigint") return n < 0n ? 0n : n;
  return Number.isFinite(n) && n > 0 ? BigInt(Math.ceil(n)) : 0n;
}

/** ceil((input * p_in + output * p_out) / 1e6). */
export function costOf(price: Price, inputTokens: number | bigint, outputTokens: number | bigint): bigint {
  const numerator =
    nonNegativeInt(inputTokens) * price.input_per_million +
    nonNegativeInt(outputTokens) * price.output_per_million;
  return (numerator + MILLION - 1n) / MILLION;
}

/** The most output tokens `budget` pays for after `inputTokens` (0 when it pays for none). */
export function affordableOutputTokens(price: Price, inputTokens: number, budget: bigint): bigint {
  const left = budget * MILLION - BigInt(inputTokens) * price.input_per_million;
  if (left <= 0n) return 0n;
  if (price.output_per_million === 0n) return BigInt(Number.MAX_SAFE_INTEGER);
  return left / price.output_per_million;
}
