// Turning the upstream's reported usage into a cost, and guarding against odd values.
import type { Usage } from "../upstreams/types.js";

export function readUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const u = value as Record<string, unknown>;
  const p = u["prompt_tokens"];
  const c = u["completion_tokens"];
  if (typeof p !== "number" || typeof c !== "number" || !Number.isFinite(p) || !Number.isFinite(c))
    return undefined;
  return {
    prompt_tokens: Math.max(0, p),
    completion_tokens: Math.max(0, c),
    total_tokens: Math.max(0, p) + Math.max(0, c),
  };
}
