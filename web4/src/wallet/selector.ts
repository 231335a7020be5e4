// testnet/mainnet wallet: NEAR Wallet Selector with MyNearWallet. This module (and the libraries it
// imports) is loaded with import() only when the network is not localnet, and bundle.ts leaves its
// chunks out of the localnet bundle, so the localnet page never pays for them.
import { internalActionToNaj, setupWalletSelector, type WalletSelector } from "@near-wallet-selector/core";
import { setupMyNearWallet } from "@near-wallet-selector/my-near-wallet";
import type { FinalOutcome } from "../near/rpc.js";
import { outcomeValue } from "../near/rpc.js";
import type { SignAndSendParams, WalletWithSignIn } from "./types.js";

export async function createSelectorWallet(
  network: "testnet" | "mainnet",
  contractId: string,
): Promise<WalletWithSignIn> {
  const selector: WalletSelector = await setupWalletSelector({ network, modules: [setupMyNearWallet()] });
  let current: string | null = selector.store.getState().accounts.find((a) => a.active)?.accountId ?? null;
  selector.store.observable.subscribe((state) => {
    current = state.accounts.find((a) => a.active)?.accountId ?? null;
  });
  return {
    kind: "selector",
    accountId: () => current,
    availableAccounts: () => [],
    async signIn() {
      const wallet = await selector.wallet("my-near-wallet");
      // No function-call key: every call here attaches a deposit, which such keys cannot do anyway.
      const accounts = await wallet.signIn({ contractId, accounts: [] });
      current = accounts[0]?.accountId ?? null;
      return current;
    },
    async signOut() {
      if (selector.isSignedIn()) await (await selector.wallet()).signOut();
      current = null;
    },
    async signAndSendTransaction({ receiverId, actions }: SignAndSendParams): Promise<FinalOutcome> {
      const wallet = await selector.wallet();
      // Wallet Selector 10 takes near-api-js action objects; our wire-level shape converts 1:1.
      const najActions = actions.map((a) => internalActionToNaj(a));
      const outcome = (await wallet.signAndSendTransaction({
        receiverId,
        actions: najActions,
      })) as unknown as FinalOutcome;
      if (!outcome) throw new Error("the wallet did not return a transaction outcome");
      outcomeValue(outcome);
      return outcome;
    },
  };
}
