// Configuration of operator settlement (`settle:`) and of the operator API (`operator:`). Kept here so
// proxy/src/config.ts only plugs the schemas and settings in. Durations are written as an operator
// thinks of them ("24h", "15m", "30s", "500ms", or a number of seconds) and held in milliseconds.
// Secrets are named, never given: the operator's NEAR key comes from AIPROXY_OPERATOR_KEY or
// settle.operator_key_file, the operator API token from AIPROXY_OPERATOR_TOKEN or operator.token_file.
import { z } from "zod";
import { flag } from "../nats/config.js";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "90s", "15m", "24h", "7d", "250ms" or a bare number of seconds -> milliseconds. */
export const duration = z.union([z.number().nonnegative(), z.string().trim()]).transform((v, ctx) => {
  if (typeof v === "number") return Math.round(v * 1000);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v);
  if (!m) {
    ctx.addIssue({ code: "custom", message: 'must be a duration such as "30s", "15m", "24h" or "7d"' });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? "s") as keyof typeof UNIT_MS]);
});

export const settleSchema = z
  .strictObject({
    /** Run the settlement worker (it still needs an operator account and key to do anything). */
    enabled: flag.default(true),
    /** Settle a conversation nobody used for this long (no reservation, no settle, no refund request). */
    idle_after: duration.prefault("24h"),
    /**
     * Settle a conversation this long before its escrow's expires_at (chain time), whatever its
     * activity: after expires_at the opener may reclaim the whole deposit and the operator loses
     * what was served. Also ends service then (a settled conversation is closed).
     */
    before_expiry: duration.prefault("15m"),
    /** How often the leader looks for conversations to settle. */
    interval: duration.prefault("60s"),
    /**
     * Conversations that spent less are not worth the operator's gas: they are left to their opener
     * (a signed refund on request, or reclaim after expiry). "0" settles every conversation.
     */
    min_spent: z.coerce
      .string()
      .regex(/^(0|[1-9][0-9]*)$/, "must be a non-negative integer (token base units)")
      .default("1"),
    /** Pays the gas of refund_unspent (any NEAR account; the spent part goes to get_config.operator_id). */
    operator_account_id: z.string().min(2).optional(),
    /** Its ed25519 key: a near-cli credentials JSON or a line `ed25519:…`. AIPROXY_OPERATOR_KEY wins. */
    operator_key_file: z.string().optional(),
    /** Gas attached to refund_unspent (it burns ~15 Tgas on the WASM contract); doubled after a gas failure. */
    gas_tgas: z.coerce.number().int().min(5).max(300).default(50),
    /** The settlement leader's lease in the ledger: a dead leader is replaced after this long. */
    lease_ttl: duration.prefault("30s"),
    /** Submissions per pass (the rest wait for the next pass; the most urgent go first). */
    max_per_pass: z.coerce.number().int().min(1).max(10_000).default(200),
    /** Backoff after a failed attempt: first delay, doubled per attempt (with jitter) up to max. */
    retry_initial: duration.prefault("30s"),
    retry_max: duration.prefault("30m"),
    /** How long one RPC call (view, broadcast) may take before the attempt counts as an outage. */
    rpc_timeout: duration.prefault("30s"),
  })
  .refine((s) => s.interval > 0 && s.lease_ttl > 0, {
    message: "settle.interval and settle.lease_ttl must be longer than 0",
  });
export type SettleConfig = z.infer<typeof settleSchema>;

export const operatorSchema = z.strictObject({
  /** File holding the token for /v1/operator/*; AIPROXY_OPERATOR_TOKEN wins. Unset: those routes answer 404. */
  token_file: z.string().optional(),
});
export type OperatorConfig = z.infer<typeof operatorSchema>;

/** Env/flag settings (same shape as settings.ts's Setting). */
export const settleSettings = [
  {
    path: "settle.enabled",
    env: "AIPROXY_SETTLE",
    flag: "--settle <bool>",
    describe: "run the settlement worker",
  },
  {
    path: "settle.idle_after",
    env: "AIPROXY_SETTLE_IDLE_AFTER",
    flag: "--settle-idle-after <duration>",
    describe: "settle conversations idle this long (24h)",
  },
  {
    path: "settle.before_expiry",
    env: "AIPROXY_SETTLE_BEFORE_EXPIRY",
    flag: "--settle-before-expiry <duration>",
    describe: "settle this long before an escrow expires (15m)",
  },
  {
    path: "settle.interval",
    env: "AIPROXY_SETTLE_INTERVAL",
    flag: "--settle-interval <duration>",
    describe: "time between settlement passes",
  },
  {
    path: "settle.min_spent",
    env: "AIPROXY_SETTLE_MIN_SPENT",
    flag: "--settle-min-spent <units>",
    describe: "leave conversations that spent less to their opener",
  },
  {
    path: "settle.operator_account_id",
    env: "AIPROXY_OPERATOR_ACCOUNT_ID",
    flag: "--operator-account-id <account>",
    describe: "NEAR account that submits refund_unspent",
  },
  {
    path: "settle.operator_key_file",
    env: "AIPROXY_OPERATOR_KEY_FILE",
    flag: "--operator-key-file <file>",
    describe: "file with the operator account's ed25519 key",
  },
  {
    path: "settle.gas_tgas",
    env: "AIPROXY_SETTLE_GAS_TGAS",
    flag: "--settle-gas-tgas <n>",
    describe: "gas attached to refund_unspent",
  },
  {
    path: "operator.token_file",
    env: "AIPROXY_OPERATOR_TOKEN_FILE",
    flag: "--operator-token-file <file>",
    describe: "file with the /v1/operator/* token",
  },
];
