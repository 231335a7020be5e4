/// <reference path="../build-env.d.ts" />
// Picks the wallet for the configured network. Each network's build carries only its own wallet:
// bundle.ts sets __WALLET__, and the branch for the other one is dropped at build time.
import type { AppConfig } from "../config.js";
import type { NearRpc } from "../near/rpc.js";
import type { WalletWithSignIn } from "./types.js";

export type { SignAndSendParams, Wallet, WalletWithSignIn } from "./types.js";

export async function createWallet(
  config: AppConfig,
  rpc: NearRpc,
  cspNonce: string,
): Promise<WalletWithSignIn> {
  if (config.network === "localnet") {
    if (__WALLET__ === "dev" || __WALLET__ === "any") {
      const { DevWallet } = await import("./dev.js");
      return new DevWallet(rpc, config.dev_accounts ?? [], localStorage);
    }
  } else if (__WALLET__ === "connector" || __WALLET__ === "any") {
    const { createConnectorWallet } = await import("./connector.js");
    return createConnectorWallet({ ...config, network: config.network }, cspNonce);
  }
  throw new Error(
    `This build of the app has no wallet for ${config.network}: post the ${config.network} bundle.`,
  );
}
