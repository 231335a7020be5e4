// Every scalar setting's AIPROXY_* environment name and command-line flag, from one table (arrays
// of objects are YAML only). config.ts's loadConfig applies them over the YAML file; main.ts and
// `npm run settle` build their commander options from it. The scale-out and settlement rows live
// beside their schemas.
import { scaleOutSettings } from "./nats/config.js";
import { settleSettings } from "./settlement/config.js";

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

export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

export function settingValue(setting: Setting, raw: string): unknown {
  return setting.list
    ? raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : raw;
}
