// The config's routing sections: the providers (upstreams) a model is served by, the retries before
// the first byte, and each model's prices and metering bounds. config.ts assembles them into the one
// schema; their types are exported from there.
import { z } from "zod";
import { BILLING_KNOBS } from "../metering/fields.js";

export const u128String = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((v) => String(v))
  .refine((v) => /^(0|[1-9][0-9]*)$/.test(v), "must be a non-negative integer (token base units)");

const retryFields = {
  max_retries: z.coerce.number().int().min(0).max(10),
  initial_delay_ms: z.coerce.number().int().min(0),
  max_delay_ms: z.coerce.number().int().min(0),
  backoff_multiplier: z.coerce.number().min(1),
  /** Budget for all attempts of one provider until the first byte, Retry-After waits included. */
  max_total_timeout_ms: z.coerce.number().int().min(1),
  /** Per attempt: time until the upstream's response headers arrive. */
  timeout_ms: z.coerce.number().int().min(1),
};
export const retrySchema = z.strictObject({
  max_retries: retryFields.max_retries.default(2),
  initial_delay_ms: retryFields.initial_delay_ms.default(200),
  max_delay_ms: retryFields.max_delay_ms.default(5_000),
  backoff_multiplier: retryFields.backoff_multiplier.default(2),
  max_total_timeout_ms: retryFields.max_total_timeout_ms.default(60_000),
  timeout_ms: retryFields.timeout_ms.default(30_000),
});
/** A provider's `retry`: only the keys it names replace the top-level ones (no defaults of its own). */
const retryOverrideSchema = z.strictObject(retryFields).partial();
export type RetryConfig = z.infer<typeof retrySchema>;

export const providerSchema = z.strictObject({
  name: z.string().min(1),
  type: z.enum(["openai-compatible", "local", "0g"]),
  base_url: z.string().url().optional(),
  /** Name of the environment variable that holds the API key (never the key itself). */
  api_key_env: z.string().optional(),
  /** `bearer`: Authorization: Bearer <key> (OpenAI and most); `api-key`: Azure OpenAI's header. */
  auth_header: z.enum(["bearer", "api-key"]).default("bearer"),
  /** `string` flattens array message content to plain text for providers that reject content parts. */
  content_format: z.enum(["array", "string"]).default("array"),
  /**
   * OpenAI endpoints the provider serves besides chat completions (`openai-compatible`): `responses`
   * (else the proxy translates /v1/responses to chat completions), `embeddings`, `completions` (legacy).
   */
  apis: z.array(z.enum(["responses", "embeddings", "completions"])).default(["embeddings"]),
  /** Public model id -> the provider's own model name. */
  model_aliases: z.record(z.string(), z.string()).default({}),
  /** Extra query string, e.g. Azure's `api-version=2024-06-01`. */
  query: z.record(z.string(), z.string()).default({}),
  /** Non-secret extra headers. */
  headers: z.record(z.string(), z.string()).default({}),
  retry: retryOverrideSchema.optional(),
  /**
   * Request fields forwarded beyond the adapter's own list (e.g. vLLM's `top_k`, `min_p`). Length
   * knobs (`n_predict`, `max_new_tokens`, `num_predict`, ...) cannot be listed: they would beat the
   * reservation.
   */
  extra_fields: z
    .array(z.string().min(1))
    .default([])
    .refine((fields) => !fields.some((f) => BILLING_KNOBS.has(f)), {
      message: `may not list a length knob (${[...BILLING_KNOBS].join(", ")}): set max_tokens / n instead`,
    }),
  /** `local` only: delay between streamed chunks, to make streams observable in tests. */
  chunk_delay_ms: z.coerce.number().int().min(0).default(0),
  /** `0g` only: options passed to that adapter as-is. */
  options: z.record(z.string(), z.unknown()).optional(),
});
export type ProviderConfig = z.infer<typeof providerSchema>;

export const modelSchema = z.strictObject({
  id: z.string().min(1),
  owned_by: z.string().default("aiproxy"),
  context_window: z.coerce.number().int().positive().default(8192),
  /** Token units (the NEP-141 token's base units) per million input tokens. */
  input_price: u128String,
  /** Token units per million output tokens. */
  output_price: u128String,
  /** Providers to try in order; the next one is the fallback when one fails before the first byte. */
  providers: z.array(z.string()).min(1),
  /** Reservation cap when the client sends no max_tokens (defaults to metering.default_max_tokens). */
  default_max_tokens: z.coerce.number().int().positive().optional(),
  /**
   * Exact prompt counts: an OpenAI encoding, or `bytes` (UTF-8 bytes, an upper bound for any
   * byte-level BPE). Default: o200k_base / cl100k_base for OpenAI model ids, `bytes` otherwise.
   */
  tokenizer: z.enum(["o200k_base", "cl100k_base", "bytes"]).optional(),
  /** Tokens a provider adds around the text (chat template, tool rendering); see metering/bound.ts. */
  prompt_overhead: z
    .strictObject({
      per_message: z.coerce.number().int().min(0).optional(),
      per_request: z.coerce.number().int().min(0).optional(),
      per_tool: z.coerce.number().int().min(0).optional(),
      tools: z.coerce.number().int().min(0).optional(),
    })
    .optional(),
  /** Image parts. Default: gpt-4o's documented formula (85 + 170 per 512-px tile). */
  images: z
    .union([
      z.strictObject({
        mode: z.literal("tiles").default("tiles"),
        base_tokens: z.coerce.number().int().min(0).default(85),
        tile_tokens: z.coerce.number().int().min(0).default(170),
      }),
      z.strictObject({
        mode: z.literal("patches"),
        /** 32-px patches, capped at max_patches, times this (gpt-4.1-mini 1.62, nano 2.46, o4-mini 1.72). */
        multiplier: z.coerce.number().positive(),
        max_patches: z.coerce.number().int().positive().default(1536),
      }),
      z.literal(false),
    ])
    .optional(),
  /** Audio input parts: provider tokens per second, and the lowest byte rate a clip may have. */
  audio: z
    .union([
      z.strictObject({
        tokens_per_second: z.coerce.number().positive().default(10),
        min_bytes_per_second: z.coerce.number().int().positive().default(1000),
      }),
      z.literal(false),
    ])
    .optional(),
  /** File parts: an upper bound of what one file costs; absent = file parts are refused. */
  file_tokens: z.coerce.number().int().positive().optional(),
});
export type ModelConfig = z.infer<typeof modelSchema>;
