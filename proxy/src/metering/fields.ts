// Which request fields reach an upstream. Every adapter declares the chat.completions fields it
// understands (an allowlist, extendable per provider in config); anything else is refused with a 400
// naming the field (OpenAI does the same: "Unrecognized request argument"), or dropped when the
// operator sets `metering.unknown_fields: drop`. Fields that change how much an upstream may bill
// without the reservation knowing (provider length knobs such as llama.cpp's `n_predict`, Ollama's
// `num_predict`, TGI's `max_new_tokens`; output multipliers such as `best_of`) are always refused:
// dropping them silently would change what the client asked for, forwarding them would beat the bound.
import { errors } from "../errors.js";

/** OpenAI's chat.completions request fields the proxy can bound (see bound.ts). */
export const OPENAI_CHAT_FIELDS: readonly string[] = [
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "n",
  "temperature",
  "top_p",
  "stop",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "seed",
  "user",
  "safety_identifier",
  "prompt_cache_key",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "functions",
  "function_call",
  "response_format",
  "reasoning_effort",
  "verbosity",
  "metadata",
  "store",
  "modalities",
  "audio",
  "prediction",
];

/**
 * Fields that set or multiply output length outside `max_tokens` / `max_completion_tokens` / `n`.
 * Refused even when an operator lists them in `providers[].extra_fields` (config rejects that too).
 */
export const BILLING_KNOBS: ReadonlySet<string> = new Set([
  "n_predict",
  "num_predict",
  "max_new_tokens",
  "max_length",
  "max_gen_len",
  "max_tokens_to_sample",
  "maxOutputTokens",
  "min_tokens",
  "min_new_tokens",
  "best_of",
  "num_beams",
  "num_return_sequences",
  "use_beam_search",
  "options",
]);

/** The 400 for a length knob in any forwarded body (every endpoint, not only chat completions). */
export function refuseBillingKnobs(body: Record<string, unknown>): void {
  for (const key in body)
    if (BILLING_KNOBS.has(key))
      refuse(key, "length is set with max_completion_tokens (or max_tokens) and n on this proxy");
}

/** `stream_options` keys forwarded (include_usage is set by the proxy itself). */
const STREAM_OPTIONS: ReadonlySet<string> = new Set(["include_usage", "include_obfuscation"]);

export type UnknownFieldPolicy = "reject" | "drop";

/**
 * The fields every provider of a model accepts (a fallback provider must accept what the first
 * one did), plus each provider's configured extras.
 */
export function allowedFields(perProvider: ReadonlyArray<readonly string[]>): ReadonlySet<string> {
  const [first, ...rest] = perProvider;
  const allowed = new Set(first ?? OPENAI_CHAT_FIELDS);
  for (const fields of rest) {
    const set = new Set(fields);
    for (const f of allowed) if (!set.has(f)) allowed.delete(f);
  }
  for (const knob of BILLING_KNOBS) allowed.delete(knob);
  return allowed;
}

function refuse(field: string, why: string): never {
  throw errors.badRequest(`unsupported parameter '${field}': ${why}`, field, "unsupported_parameter");
}

/**
 * The body to forward: the same object when every field is allowed (the common case, no copy),
 * else a copy without the dropped fields; throws a 400 for a billing knob or (policy reject) any
 * field the model's providers do not declare.
 */
export function forwardedFields(
  body: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  policy: UnknownFieldPolicy,
): Record<string, unknown> {
  let out = body;
  for (const key in body) {
    if (allowed.has(key)) continue;
    if (BILLING_KNOBS.has(key))
      refuse(key, "length is set with max_completion_tokens (or max_tokens) and n on this proxy");
    if (policy === "reject")
      refuse(
        key,
        "this model's providers do not declare it (an operator may allow it in providers[].extra_fields)",
      );
    if (out === body) out = { ...body };
    delete out[key];
  }
  const options = body["stream_options"];
  if (options && typeof options === "object" && !Array.isArray(options)) {
    for (const key in options) {
      if (STREAM_OPTIONS.has(key)) continue;
      if (policy === "reject") refuse(`stream_options.${key}`, "not a stream option this proxy forwards");
      const kept = Object.fromEntries(Object.entries(options).filter(([k]) => STREAM_OPTIONS.has(k)));
      if (out === body) out = { ...body };
      out["stream_options"] = kept;
      break;
    }
  }
  return out;
}
