// One config object, read in this order (later wins): defaults -> YAML file -> AIPROXY_* environment ->
// command-line flags. Secrets (refund signer key, upstream API keys) are never config values: the
// config only names the env var or file that holds them, and the YAML schema is strict so a pasted
// `api_key:` is rejected instead of silently carried around (T13).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
// Scale-out (NATS JetStream store, NATS transport, async jobs): schemas live in nats/config.ts.
import { jobsSchema, natsSchema, storeJetStreamFields } from "./nats/config.js";
// Providers, models and retries: schemas live in routing/config.ts.
import { modelSchema, providerSchema, retrySchema, u128String } from "./routing/config.js";
// The env names and flags of every scalar setting: the table in settings.ts.
import { flagKey, setPath, settings, settingValue } from "./settings.js";
// Operator settlement and the operator API: schemas live in settlement/config.ts.
import { operatorSchema, settleSchema } from "./settlement/config.js";

export type { ModelConfig, ProviderConfig, RetryConfig } from "./routing/config.js";
export { flagKey, type Setting, settings } from "./settings.js";

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
