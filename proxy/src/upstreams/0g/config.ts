// Configuration of the 0G upstream. In the proxy's YAML it is `providers[].options` of a provider
// with `type: 0g` (snake_case keys, see docs/0g.md); amounts are decimal 0G strings, parsed to wei
// exactly with ethers.parseEther.
import { readFileSync } from "node:fs";
import { parseEther } from "ethers";
import { isZeroGNetwork, NETWORKS, type ZeroGNetwork } from "./chain.js";

export type { ZeroGNetwork } from "./chain.js";

export interface ZeroGConfig {
  /** Name of this upstream in the proxy (logs, errors). */
  name?: string;
  network?: ZeroGNetwork;
  /** Defaults: testnet https://evmrpc-testnet.0g.ai, mainnet https://evmrpc.0g.ai, local http://127.0.0.1:8545. */
  rpcUrl?: string;
  /** Hex private key of the wallet that owns the 0G ledger. Never logged, never in error messages. */
  privateKey: string;
  /** Contract overrides; default: the SDK's constants for `network`. */
  ledgerAddress?: string;
  inferenceAddress?: string;
  fineTuningAddress?: string;
  /** model name → provider address, to pin a provider instead of discovering one via listService. */
  providers?: Record<string, string>;
  /** When the ledger's available balance drops below this (wei), deposit `ledgerTopUp` from the wallet. */
  ledgerMinBalance?: bigint;
  /** Auto top-up amount (wei); 0 disables wallet → ledger top-ups. */
  ledgerTopUp?: bigint;
  /** Sub-account target = unsettled fees + subAccountBuffer × 1 0G (the provider's minimum lock). */
  subAccountBuffer?: number;
  /** Period of the SDK's background sub-account funding (ms). */
  fundingIntervalMs?: number;
  /** How long a balance check stays fresh on the request path (ms). */
  balanceCheckMs?: number;
  /** How long the listService result is cached (ms). */
  serviceCacheMs?: number;
  /** Gas price in wei; default: the RPC's suggestion. */
  gasPrice?: bigint;
  /** context_window reported by listModels (0G services do not publish one). */
  contextWindow?: number;
  /** Timeout of the reachability probe of a provider before anything is spent on it (ms). */
  probeTimeoutMs?: number;
}

export interface ResolvedZeroGConfig extends Required<Omit<ZeroGConfig, "gasPrice" | "providers">> {
  gasPrice?: bigint;
  providers: Record<string, string>;
}

export function resolveConfig(c: ZeroGConfig): ResolvedZeroGConfig {
  const network = c.network ?? "testnet";
  const net = NETWORKS[network];
  return {
    name: c.name ?? "0g",
    network,
    rpcUrl: c.rpcUrl ?? net.rpcUrl,
    privateKey: c.privateKey,
    ledgerAddress: c.ledgerAddress ?? net.ledger,
    inferenceAddress: c.inferenceAddress ?? net.inference,
    fineTuningAddress: c.fineTuningAddress ?? net.fineTuning,
    providers: c.providers ?? {},
    ledgerMinBalance: c.ledgerMinBalance ?? parseEther("3"),
    ledgerTopUp: c.ledgerTopUp ?? 0n,
    subAccountBuffer: c.subAccountBuffer ?? 2,
    fundingIntervalMs: c.fundingIntervalMs ?? 60_000,
    balanceCheckMs: c.balanceCheckMs ?? 5_000,
    serviceCacheMs: c.serviceCacheMs ?? 60_000,
    gasPrice: c.gasPrice,
    contextWindow: c.contextWindow ?? 8192,
    probeTimeoutMs: c.probeTimeoutMs ?? 5_000,
  };
}

function amount(v: unknown, key: string): bigint | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const s = String(v).trim();
  if (!/^\d+(\.\d{1,18})?$/.test(s)) throw new Error(`0g option ${key}: "${s}" is not a decimal 0G amount`);
  return parseEther(s);
}

function num(v: unknown): number | undefined {
  return v === undefined || v === null || v === "" ? undefined : Number(v);
}

/**
 * Builds a ZeroGConfig from the proxy's `providers[].options` (snake_case) and the environment.
 * The key comes from the env var named by `private_key_env` (default ZG_PRIVATE_KEY) or from
 * `private_key_file`; never from the YAML itself.
 */
export function fromProviderOptions(
  name: string,
  options: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
): ZeroGConfig {
  if ("private_key" in options) {
    throw new Error(
      `provider ${name}: put the 0G key in an env var (private_key_env) or a file (private_key_file), not in the config`,
    );
  }
  let privateKey: string | undefined;
  if (typeof options.private_key_file === "string") {
    privateKey = readFileSync(options.private_key_file, "utf8").trim();
  } else {
    const envName = typeof options.private_key_env === "string" ? options.private_key_env : "ZG_PRIVATE_KEY";
    privateKey = env[envName]?.trim();
    if (!privateKey)
      throw new Error(`provider ${name}: environment variable ${envName} (0G wallet key) is not set`);
  }
  const network = options.network ?? "testnet";
  if (!isZeroGNetwork(network))
    throw new Error(`provider ${name}: 0g network must be testnet, mainnet or local`);
  return {
    name,
    network,
    rpcUrl: options.rpc_url as string | undefined,
    privateKey,
    ledgerAddress: options.ledger_address as string | undefined,
    inferenceAddress: options.inference_address as string | undefined,
    fineTuningAddress: options.fine_tuning_address as string | undefined,
    providers: options.providers as Record<string, string> | undefined,
    ledgerMinBalance: amount(options.ledger_min_balance, "ledger_min_balance"),
    ledgerTopUp: amount(options.ledger_top_up, "ledger_top_up"),
    subAccountBuffer: num(options.sub_account_buffer),
    fundingIntervalMs: num(options.funding_interval_ms),
    balanceCheckMs: num(options.balance_check_ms),
    serviceCacheMs: num(options.service_cache_ms),
    gasPrice: options.gas_price === undefined ? undefined : BigInt(String(options.gas_price)),
    contextWindow: num(options.context_window),
    probeTimeoutMs: num(options.probe_timeout_ms),
  };
}
