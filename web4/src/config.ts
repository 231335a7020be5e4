/// <reference path="./build-env.d.ts" />
// Everything deployment-specific comes from the contract's own /config.json at runtime, so one bundle
// serves localnet, testnet and mainnet.

export type Network = "localnet" | "testnet" | "mainnet";

export interface DevAccount {
  account_id: string;
  /** "ed25519:<base58 64-byte secret key>"; only ever served by a localnet deployment. */
  secret_key: string;
}

export interface AppConfig {
  contract_id: string;
  network: Network;
  proxy_url: string;
  rpc_url: string;
  dev_accounts?: DevAccount[];
  /** testnet/mainnet: the wallet connector's manifest URL (default: near-connect's own list). */
  wallet_manifest?: string;
}

export function parseConfig(raw: unknown): AppConfig {
  const c = raw as Partial<AppConfig> | null;
  const need = (k: keyof AppConfig) => {
    const v = c?.[k];
    if (typeof v !== "string" || !v) throw new Error(`config.json is missing "${k}"`);
    return v;
  };
  const network = need("network");
  if (network !== "localnet" && network !== "testnet" && network !== "mainnet") {
    throw new Error(`config.json has unknown network "${network}"`);
  }
  const devAccounts = Array.isArray(c?.dev_accounts)
    ? c.dev_accounts.filter((a) => typeof a?.account_id === "string" && typeof a?.secret_key === "string")
    : undefined;
  return {
    contract_id: need("contract_id"),
    network,
    proxy_url: need("proxy_url").replace(/\/+$/, ""),
    rpc_url: need("rpc_url"),
    // Private keys in a public config are acceptable only for throwaway localnet accounts.
    dev_accounts: network === "localnet" ? devAccounts : undefined,
    wallet_manifest: typeof c?.wallet_manifest === "string" ? c.wallet_manifest : undefined,
  };
}

export async function loadConfig(url = "/config.json"): Promise<AppConfig> {
  let res: Response;
  try {
    res = await fetch(url, { cache: "no-store" });
  } catch (e) {
    throw new Error(`could not load ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new Error(`could not load ${url}: HTTP ${res.status}`);
  const config = parseConfig(await res.json());
  // __WALLET__ (see bundle.ts): the testnet/mainnet builds drop this branch altogether.
  if (__WALLET__ !== "connector" && config.network === "localnet" && !config.dev_accounts?.length) {
    config.dev_accounts = await loadDevAccounts();
  }
  return config;
}

/**
 * Localnet only: the demo accounts' keys, when config.json does not carry them, from the localnet
 * gateway's side endpoint. A web4 host serving index.html for unknown paths simply yields none.
 */
export async function loadDevAccounts(url = DEV_ACCOUNTS_PATH): Promise<DevAccount[]> {
  try {
    const res = await fetch(url, { cache: "no-store" });
    if (!res.ok || !/json/.test(res.headers.get("content-type") ?? "")) return [];
    const body = (await res.json()) as { dev_accounts?: DevAccount[] } | DevAccount[];
    const list = Array.isArray(body) ? body : (body.dev_accounts ?? []);
    return list.filter((a) => typeof a?.account_id === "string" && typeof a?.secret_key === "string");
  } catch {
    return [];
  }
}
export const DEV_ACCOUNTS_PATH = "/_localnet/dev-accounts.json";
