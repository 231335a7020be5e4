// Where the deploy scripts find a network's RPC and an account's key: near-cli's legacy keychain
// (~/.near-credentials/<network>/<account>.json, what near-cli-rs `save-to-legacy-keychain` writes)
// or an explicit key file.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { KeyPairString } from "near-api-js";

export const DEFAULT_RPC = {
  localnet: "http://127.0.0.1:3030",
  testnet: "https://rpc.testnet.near.org",
  mainnet: "https://rpc.mainnet.near.org",
} as const;

export function loadKey(network: string, accountId: string, keyFile?: string): KeyPairString {
  const path = keyFile ?? join(homedir(), ".near-credentials", network, `${accountId}.json`);
  if (!existsSync(path)) {
    throw new Error(
      `no key for ${accountId} at ${path}. Import it with near-cli-rs (\`near account import-account\`, legacy keychain) or pass --key-file.`,
    );
  }
  const json = JSON.parse(readFileSync(path, "utf8")) as { private_key?: string; secret_key?: string };
  const key = json.private_key ?? json.secret_key;
  if (!key?.startsWith("ed25519:")) throw new Error(`${path} has no ed25519 private_key/secret_key`);
  return key as KeyPairString;
}
