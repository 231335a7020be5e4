// Every error a person sees goes through readable(): the reason in words, without the stack frames
// a contract panic carries from QuickJS ("… at fail (contract.js:3368:18)") or a JS engine appends.
// quotaShortfall() reads the proxy's 402 so the app can explain it in the meter's units.
import { ProxyError } from "./proxy.js";

const STACK_LINE = /^\s*at\s+\S.*$/;
const INLINE_FRAME = /\s+at\s+(?:[\w$.<>[\]]+\s+)?\(?[\w./:-]+\.[cm]?js:\d+(?::\d+)?\)?/g;

function messageOf(e: unknown): string {
  if (typeof e === "string") return e;
  if (e instanceof Error) return e.message;
  const m = (e as { message?: unknown } | null)?.message;
  if (typeof m === "string") return m;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

export function readable(e: unknown): string {
  const lines = messageOf(e)
    .split(/\r?\n/)
    .filter((l) => !STACK_LINE.test(l));
  const text = lines
    .join(" ")
    .replace(INLINE_FRAME, "")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^(?:\w*Error: )?Smart contract panicked: /, "The contract refused: ");
  return text || "Something went wrong, with no reason given.";
}

export interface QuotaShortfall {
  /** What the request could cost at most (token base units). */
  needed: bigint;
  available: bigint;
}

/** The proxy's 402: "…may cost up to N token units, M available…". */
export function quotaShortfall(e: unknown): QuotaShortfall | null {
  if (!(e instanceof ProxyError) || e.status !== 402) return null;
  const m = /up to (\d+) token units?, (\d+) available/.exec(e.message);
  return m ? { needed: BigInt(m[1]!), available: BigInt(m[2]!) } : { needed: 0n, available: 0n };
}

/**
 * The largest max_tokens that fits `available`, given that `maxTokens` needed `needed`: the prompt's
 * share is at most needed·10⁶ − maxTokens·price (the proxy rounds up), so this never over-promises.
 */
export function affordableMaxTokens(s: QuotaShortfall, maxTokens: number, outputPerMillion: bigint): number {
  if (outputPerMillion <= 0n) return 0;
  const promptShare = s.needed * 1_000_000n - BigInt(maxTokens) * outputPerMillion;
  const left = s.available * 1_000_000n - promptShare;
  return left > 0n ? Number(left / outputPerMillion) : 0;
}
