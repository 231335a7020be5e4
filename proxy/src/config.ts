// One config object, read in this order (later wins): defaults -> YAML file -> AIPROXY_* environment ->
// command-line flags. Secrets (refund signer key, upstream API keys) are never config values: the
// config only names the env var or file that holds them, and the YAML schema is strict so a pasted
// `api_key:` is rejected instead of silently carried around (T13).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
// Scale-out (NATS JetStream store, NATS transport, async jobs): schemas live in nats/config.ts.
import { BILLING_KNOBS } from "./metering/fields.js";
import { jobsSchema, natsSchema, scaleOutSettings, storeJetStreamFields } from "./nats/config.js";
// Operator settlement and the operator API: schemas live in settlement/config.ts.
import { operatorSchema, settleSchema, settleSettings } from "./settlement/config.js";

const u128String = z
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
const retrySchema = z.strictObject({
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

const providerSchema = z.strictObject({
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

const modelSchema = z.strictObject({
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

const demoConversationSchema = z.strictObject({
  /** The demo secret (a demo is not a secret store: only for `chain.type: memory`). */
  secret: z.string().min(8),
  receiver_id: z.string().default("demo.test.near"),
  amount: u128String,
});

export const configSchema = z.strictObject({
  /** `production` turns off permissive defaults (CORS `*`, demo chain, pretty logs). */
  mode: z.enum(["development", "production"]).default("development"),
  host: z.string().default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(8787),
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Allowed browser origins. Empty: no CORS headers. Development default `*`, production default none. */
  cors_origins: z.array(z.string()).optional(),
  max_body_bytes: z.coerce.number().int().positive().default(1_048_576),
  /**
   * Owner tag on reservations: on startup this instance settles only its own stale reservations.
   * Default: drawn once per data dir and kept (identity.ts); leased in the ledger either way, so two
   * live processes never share one (T20).
   */
  instance_id: z
    .string()
    .min(1)
    .refine((id) => !id.startsWith("@"), "must not start with @ (reserved for the ledger's role leases)")
    .optional(),
  /** Where this process keeps its drawn instance id. Default: the SQLite ledger's directory, else ./.aiproxy/<contract_id>. */
  data_dir: z.string().min(1).optional(),
  chain: z
    .strictObject({
      type: z.enum(["near", "memory"]).default("near"),
      rpc_url: z.string().url().default("http://127.0.0.1:3030"),
      contract_id: z.string().min(2).default("token.test.near"),
      timeout_ms: z.coerce.number().int().positive().default(10_000),
      /**
       * Stop serving a conversation this long before its escrow's expires_at: after it the opener can
       * reclaim the whole deposit, so the refund paying the operator must be on chain before then.
       */
      stop_before_expiry_secs: z.coerce.number().int().min(0).default(600),
      /** `memory` only: conversations that exist without a chain (demo and tests). */
      conversations: z.array(demoConversationSchema).default([]),
    })
    .prefault({}),
  store: z
    .strictObject({
      /** `jetstream`: the shared ledger in a NATS JetStream KV bucket (needs nats.servers). */
      type: z.enum(["sqlite", "jetstream"]).default("sqlite"),
      /**
       * `:memory:` keeps nothing across restarts (tests only). Default ./.aiproxy/<contract_id>/ledger.sqlite:
       * one ledger per contract, never shared by two contracts by accident (T19).
       */
      path: z.string().optional(),
      /**
       * `normal` (WAL): every committed ledger write survives a killed process (T14), an OS crash or
       * power cut may lose the last moments. `full`: fsync per ledger write, survives power cuts, costs
       * an fsync (~0.3 ms here, far more on network disks) on the request path.
       */
      synchronous: z.enum(["full", "normal"]).default("normal"),
      ...storeJetStreamFields, // scale-out
    })
    .prefault({}),
  nats: natsSchema.prefault({}), // scale-out
  jobs: jobsSchema.prefault({}), // scale-out
  metering: z
    .strictObject({
      default_max_tokens: z.coerce.number().int().positive().default(1024),
      /**
       * Request fields no provider of the model declares: `reject` (400 naming the field, as OpenAI
       * does) or `drop` (forward without them). Length knobs are refused either way.
       */
      unknown_fields: z.enum(["reject", "drop"]).default("reject"),
      /** How long a refund waits for in-flight requests before billing their reservations. */
      refund_wait_ms: z.coerce.number().int().min(0).default(120_000),
    })
    .prefault({}),
  /** Stored responses for `previous_response_id` / `item_reference` (in this process's memory). */
  responses: z
    .strictObject({
      store_ttl_ms: z.coerce.number().int().min(0).default(3_600_000),
      store_max_entries: z.coerce.number().int().min(0).default(10_000),
      store_max_bytes: z.coerce
        .number()
        .int()
        .min(0)
        .default(64 * 1024 * 1024),
    })
    .prefault({}),
  /** Cheap abuse (T23): what unknown secrets may cost. */
  abuse: z
    .strictObject({
      /** An id the chain did not know answers 404 for this long without a new lookup. */
      negative_cache_ms: z.coerce.number().int().min(0).default(10_000),
      /** Conversations a client may be the first to show this process: at once, then per second. */
      lookups_burst: z.coerce.number().int().min(1).default(30),
      lookups_per_second: z.coerce.number().positive().default(2),
      /**
       * Behind a reverse proxy: the header holding the client address (its first entry), e.g.
       * x-forwarded-for. Default: the TCP peer address.
       */
      client_ip_header: z.string().min(1).optional(),
    })
    .prefault({}),
  refund: z
    .strictObject({
      /** A file holding the 0x-hex secp256k1 key; AIPROXY_REFUND_SIGNER_KEY (env) wins over it. */
      signer_key_file: z.string().optional(),
    })
    .prefault({}),
  retry: retrySchema.prefault({}),
  settle: settleSchema.prefault({}), // operator settlement
  operator: operatorSchema.prefault({}), // operator API
  providers: z.array(providerSchema).default(() => [providerSchema.parse({ name: "local", type: "local" })]),
  models: z.array(modelSchema).default(() => [
    modelSchema.parse({
      id: "demo-local",
      owned_by: "aiproxy-demo",
      context_window: 8192,
      input_price: "1000000",
      output_price: "2000000",
      providers: ["local"],
    }),
  ]),
});
export type ProxyConfig = z.infer<typeof configSchema>;
export type ProxyConfigInput = z.input<typeof configSchema>;

/** Scalar settings reachable from the environment and the command line (arrays of objects: YAML only). */
export interface Setting {
  path: string;
  env: string;
  flag: string;
  describe: string;
  list?: boolean;
}

export const settings: Setting[] = [
  { path: "mode", env: "AIPROXY_MODE", flag: "--mode <mode>", describe: "development | production" },
  { path: "host", env: "AIPROXY_HOST", flag: "--host <host>", describe: "listen address" },
  { path: "port", env: "AIPROXY_PORT", flag: "--port <port>", describe: "listen port (0: any free port)" },
  { path: "log_level", env: "AIPROXY_LOG_LEVEL", flag: "--log-level <level>", describe: "pino level" },
  {
    path: "cors_origins",
    env: "AIPROXY_CORS_ORIGINS",
    flag: "--cors-origins <list>",
    describe: "comma-separated allowed origins",
    list: true,
  },
  {
    path: "max_body_bytes",
    env: "AIPROXY_MAX_BODY_BYTES",
    flag: "--max-body-bytes <n>",
    describe: "request body limit",
  },
  {
    path: "data_dir",
    env: "AIPROXY_DATA_DIR",
    flag: "--data-dir <dir>",
    describe: "where the drawn instance id is kept",
  },
  {
    path: "instance_id",
    env: "AIPROXY_INSTANCE_ID",
    flag: "--instance-id <id>",
    describe: "owner tag of reservations",
  },
  { path: "chain.type", env: "AIPROXY_CHAIN", flag: "--chain <type>", describe: "near | memory (demo)" },
  { path: "chain.rpc_url", env: "AIPROXY_NEAR_RPC_URL", flag: "--rpc-url <url>", describe: "NEAR JSON-RPC" },
  {
    path: "chain.contract_id",
    env: "AIPROXY_CONTRACT_ID",
    flag: "--contract-id <id>",
    describe: "token contract",
  },
  {
    path: "chain.timeout_ms",
    env: "AIPROXY_CHAIN_TIMEOUT_MS",
    flag: "--chain-timeout-ms <ms>",
    describe: "RPC timeout",
  },
  {
    path: "chain.stop_before_expiry_secs",
    env: "AIPROXY_STOP_BEFORE_EXPIRY_SECS",
    flag: "--stop-before-expiry-secs <s>",
    describe: "stop serving a conversation this long before its escrow expires",
  },
  { path: "store.path", env: "AIPROXY_STORE_PATH", flag: "--store-path <file>", describe: "SQLite file" },
  {
    path: "store.synchronous",
    env: "AIPROXY_SQLITE_SYNCHRONOUS",
    flag: "--sqlite-synchronous <mode>",
    describe: "full | normal",
  },
  {
    path: "metering.default_max_tokens",
    env: "AIPROXY_DEFAULT_MAX_TOKENS",
    flag: "--default-max-tokens <n>",
    describe: "reservation cap when the client sends no max_tokens",
  },
  {
    path: "metering.unknown_fields",
    env: "AIPROXY_UNKNOWN_FIELDS",
    flag: "--unknown-fields <policy>",
    describe: "reject | drop request fields no provider declares",
  },
  {
    path: "metering.refund_wait_ms",
    env: "AIPROXY_REFUND_WAIT_MS",
    flag: "--refund-wait-ms <ms>",
    describe: "refund waits this long for in-flight requests",
  },
  {
    path: "refund.signer_key_file",
    env: "AIPROXY_REFUND_SIGNER_KEY_FILE",
    flag: "--refund-signer-key-file <file>",
    describe: "file with the secp256k1 refund key",
  },
  {
    path: "retry.max_retries",
    env: "AIPROXY_MAX_RETRIES",
    flag: "--max-retries <n>",
    describe: "retries per provider",
  },
  {
    path: "retry.initial_delay_ms",
    env: "AIPROXY_RETRY_INITIAL_DELAY_MS",
    flag: "--retry-initial-delay-ms <ms>",
    describe: "first backoff",
  },
  {
    path: "retry.max_delay_ms",
    env: "AIPROXY_RETRY_MAX_DELAY_MS",
    flag: "--retry-max-delay-ms <ms>",
    describe: "backoff cap",
  },
  {
    path: "retry.backoff_multiplier",
    env: "AIPROXY_RETRY_BACKOFF_MULTIPLIER",
    flag: "--retry-backoff-multiplier <x>",
    describe: "backoff growth",
  },
  {
    path: "retry.max_total_timeout_ms",
    env: "AIPROXY_RETRY_MAX_TOTAL_TIMEOUT_MS",
    flag: "--retry-max-total-timeout-ms <ms>",
    describe: "budget until first byte",
  },
  {
    path: "retry.timeout_ms",
    env: "AIPROXY_UPSTREAM_TIMEOUT_MS",
    flag: "--upstream-timeout-ms <ms>",
    describe: "per-attempt timeout",
  },
  ...scaleOutSettings,
  ...settleSettings,
];

/** The flag's camelCase key as commander stores it. */
export function flagKey(setting: Setting): string {
  const long = setting.flag.split(" ")[0]!.replace(/^--/, "");
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function settingValue(setting: Setting, raw: string): unknown {
  return setting.list
    ? raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : raw;
}

export interface LoadConfigOptions {
  /** YAML file path (`--config`). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Parsed flags keyed by flagKey(setting). */
  flags?: Record<string, unknown>;
  /** Programmatic overrides applied between the YAML file and the environment (tests). */
  base?: ProxyConfigInput;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig(options: LoadConfigOptions = {}): ProxyConfig {
  const env = options.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const file = options.file ?? env["AIPROXY_CONFIG"];
  if (file) {
    let fromFile: unknown;
    try {
      fromFile = parseYaml(readFileSync(file, "utf8")) ?? {};
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    raw = deepMerge(raw, fromFile as Record<string, unknown>);
  }
  raw = deepMerge(raw, structuredClone((options.base ?? {}) as Record<string, unknown>));
  for (const setting of settings) {
    const value = env[setting.env];
    if (value !== undefined && value !== "") setPath(raw, setting.path, settingValue(setting, value));
  }
  for (const setting of settings) {
    const value = options.flags?.[flagKey(setting)];
    if (value !== undefined) setPath(raw, setting.path, settingValue(setting, String(value)));
  }
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): ProxyConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`invalid proxy configuration:\n  ${issues.join("\n  ")}`);
  }
  const config = result.data;
  const providerNames = new Set(config.providers.map((p) => p.name));
  for (const model of config.models) {
    for (const p of model.providers) {
      if (!providerNames.has(p)) throw new ConfigError(`model ${model.id} routes to unknown provider ${p}`);
    }
  }
  return config;
}

/** A contract id as a file or bucket name part (account ids are [a-z0-9._-]). */
const namePart = (contractId: string) => contractId.replace(/[^A-Za-z0-9_-]/g, "_");

/** The SQLite ledger file in effect: the configured one, else one per contract under ./.aiproxy. */
export function storePath(config: ProxyConfig): string {
  return config.store.path ?? join(".aiproxy", config.chain.contract_id, "ledger.sqlite");
}

/** The JetStream ledger bucket in effect: the configured one, else one per contract. */
export function storeBucket(config: ProxyConfig): string {
  return config.store.bucket ?? `aiproxy_ledger_${namePart(config.chain.contract_id)}`;
}

/** Where the drawn instance id lives; undefined for an in-memory ledger. */
export function dataDir(config: ProxyConfig): string | undefined {
  if (config.data_dir) return config.data_dir;
  if (config.store.type === "sqlite") {
    const path = storePath(config);
    return path === ":memory:" ? undefined : dirname(path);
  }
  return join(".aiproxy", config.chain.contract_id);
}

/** The CORS origins in effect: explicit list, else `*` in development and nothing in production. */
export function corsOrigins(config: ProxyConfig): string[] {
  return config.cors_origins ?? (config.mode === "production" ? [] : ["*"]);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) {
    const prev = out[k];
    out[k] =
      v &&
      typeof v === "object" &&
      !Array.isArray(v) &&
      prev &&
      typeof prev === "object" &&
      !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
