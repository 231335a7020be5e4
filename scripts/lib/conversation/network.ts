// Where the conversation CLI talks to: the network's RPC, the token contract, and the key of the
// account that signs. Keys come from --key-file, near-cli's legacy keychain
// (~/.near-credentials/<network>/<account>.json) or, on localnet, the keys `npm start` keeps.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Account, JsonRpcProvider, type KeyPairString } from "near-api-js";
import { CliError } from "../cli.js";
import { DEFAULT_RPC, loadKey } from "../near-credentials.js";

export type NetworkName = keyof typeof DEFAULT_RPC;

export interface NetworkOptions {
  network: NetworkName;
  rpc?: string;
  contract?: string;
  keyFile?: string;
}

export interface Network {
  name: NetworkName;
  rpcUrl: string;
  contractId: string;
  provider: JsonRpcProvider;
}

const projectRoot = join(import.meta.dirname, "..", "..", "..");
/** The contract `npm start` deploys. */
export const LOCALNET_CONTRACT = "token.test.near";

export function network(opts: NetworkOptions): Network {
  if (!(opts.network in DEFAULT_RPC))
    throw new CliError(`unknown network ${opts.network}`, "use localnet, testnet or mainnet");
  const contractId = opts.contract ?? (opts.network === "localnet" ? LOCALNET_CONTRACT : undefined);
  if (!contractId)
    throw new CliError(
      `which token contract on ${opts.network}?`,
      "pass --contract <account id of the token>",
    );
  const rpcUrl = opts.rpc ?? DEFAULT_RPC[opts.network];
  // Few retries: the CLI reports an unreachable RPC quickly, with what to do about it.
  return {
    name: opts.network,
    rpcUrl,
    contractId,
    provider: new JsonRpcProvider({ url: rpcUrl }, { retries: 2, backoff: 2, wait: 200 }),
  };
}

/** The signing account; its key from --key-file, the legacy keychain, or (localnet) npm start's keys. */
export function signer(net: Network, accountId: string, keyFile?: string): Account {
  return new Account(accountId, net.provider, keyOf(net.name, accountId, keyFile));
}

function keyOf(networkName: NetworkName, accountId: string, keyFile?: string): KeyPairString {
  if (keyFile) return keyFromFile(keyFile, accountId);
  try {
    return loadKey(networkName, accountId);
  } catch (e) {
    if (networkName === "localnet") {
      const started = join(
        process.env.LOCALNET_HOME ?? join(projectRoot, ".localnet", "home"),
        "start-keys.json",
      );
      if (existsSync(started)) {
        const key = (JSON.parse(readFileSync(started, "utf8")) as Record<string, KeyPairString>)[accountId];
        if (key) return key;
      }
    }
    throw new CliError(
      `no key for ${accountId}: ${(e as Error).message.split(". ")[0]}`,
      networkName === "localnet"
        ? "npm start creates alice.test.near and bob.test.near with their keys, or pass --key-file <path>"
        : "import the account with near-cli-rs (`near account import-account`, legacy keychain) or pass --key-file <path>",
    );
  }
}

/** A near-cli key file ({account_id, private_key}) or a {account: key} map like npm start's. */
function keyFromFile(path: string, accountId: string): KeyPairString {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(
      `cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const key = json.private_key ?? json.secret_key ?? json[accountId];
  if (typeof key !== "string" || !key.startsWith("ed25519:"))
    // Never echo what is in the file: it may be a key with a typo.
    throw new CliError(
      `${path} holds no ed25519 key for ${accountId}`,
      "it needs private_key (near-cli format)",
    );
  return key as KeyPairString;
}
