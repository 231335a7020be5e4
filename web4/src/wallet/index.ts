// Picks the wallet for the configured network. Both implementations are dynamic imports: the app
// shell loads without any signing code, and each network's bundle carries only its own wallet.
import type { AppConfig } from "../config.js";
import type { NearRpc } from "../near/rpc.js";
import type { WalletWithSignIn } from "./types.js";

export type { SignAndSendParams, Wallet, WalletWithSignIn } from "./types.js";

export async function createWallet(config: AppConfig, rpc: NearRpc): Promise<WalletWithSignIn> {
  if (config.network === "localnet") {
    const { DevWallet } = await import("./dev.js");
    return new DevWallet(rpc, config.dev_accounts ?? [], localStorage);
  }
  const { createSelectorWallet } = await import("./selector.js");
  return createSelectorWallet(config.network, config.contract_id);
}
