// Token and NEAR amounts are BigInt in code and base-10 strings on the wire; floats never touch them.

/** Formats a raw integer amount with `decimals` places, trimming trailing zeros ("1.5", "0", "0.000001"). */
export function formatAmount(raw: bigint | string, decimals: number, maxFraction = decimals): string {
  const value = typeof raw === "string" ? BigInt(raw) : raw;
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  let fraction = decimals > 0 ? (abs % base).toString().padStart(decimals, "0") : "";
  // Truncation toward zero is deliberate: a displayed balance must never exceed the real one.
  fraction = fraction.slice(0, maxFraction).replace(/0+$/, "");
  const wholeText = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${wholeText}${fraction ? `.${fraction}` : ""}`;
}

/** Parses a user-typed decimal ("1.5", "1,000.25") into a raw integer; throws a readable error otherwise. */
export function parseAmount(text: string, decimals: number): bigint {
  const cleaned = text.trim().replace(/[,_\s]/g, "");
  const match = /^(\d*)(?:\.(\d*))?$/.exec(cleaned);
  if (!cleaned || !match || (match[1] === "" && !match[2])) throw new Error(`"${text}" is not a number`);
  const whole = match[1] || "0";
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) throw new Error(`at most ${decimals} decimal places`);
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
}

export const NEAR_DECIMALS = 24;
export const ONE_YOCTO = 1n;
/** Tgas to attach to our contract calls; near-sdk-js calls are not cheap. */
export const TGAS = 1_000_000_000_000n;

/**
 * What an answer costs from its usage: ceil((prompt·input + completion·output) / 10⁶), prices in
 * token base units per million tokens, rounded up exactly like the proxy's costOf
 * (proxy/src/metering/prices.ts; test/web4-unit.test.ts checks they agree).
 */
export function costOf(
  pricing: { input: string; output: string },
  usage: { prompt_tokens: number; completion_tokens: number },
): bigint {
  const n = (x: number) => (Number.isFinite(x) && x > 0 ? BigInt(Math.ceil(x)) : 0n);
  const numerator =
    n(usage.prompt_tokens) * BigInt(pricing.input) + n(usage.completion_tokens) * BigInt(pricing.output);
  return (numerator + 999_999n) / 1_000_000n;
}
