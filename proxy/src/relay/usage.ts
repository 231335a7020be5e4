// Turning the upstream's reported usage into numbers, and guarding against odd values. Chat,
// completions and embeddings report prompt_tokens/completion_tokens (embeddings: no completion);
// the Responses API reports input_tokens/output_tokens.
import type { Usage } from "../upstreams/types.js";

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? Math.max(0, v) : undefined);

/** `inputOnly` (embeddings): no output tokens are expected; anything else needs both counts. */
export function readUsage(value: unknown, inputOnly = false): Usage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const u = value as Record<string, unknown>;
  const p = count(u["prompt_tokens"] ?? u["input_tokens"]);
  const c = count(u["completion_tokens"] ?? u["output_tokens"]) ?? (inputOnly ? 0 : undefined);
  if (p === undefined || c === undefined) return undefined;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

/** The usage object inside an answer or a stream event: top level, or a Responses event's response. */
export function usageHolder(json: Record<string, unknown>): Record<string, unknown> | undefined {
  const direct = json["usage"];
  if (direct && typeof direct === "object") return direct as Record<string, unknown>;
  const response = json["response"] as Record<string, unknown> | undefined;
  const nested = response?.["usage"];
  return nested && typeof nested === "object" ? (nested as Record<string, unknown>) : undefined;
}

/** Writes the charge into the answer's usage (`usage.cost`, a base-10 string of token units). */
export function setCost(json: Record<string, unknown>, cost: bigint): void {
  const usage = usageHolder(json);
  if (usage) usage["cost"] = cost.toString();
}
