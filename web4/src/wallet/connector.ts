// testnet/mainnet wallet: NEAR Connect (@hot-labs/near-connect). It has no wallet code of its own:
// each wallet's script comes from the connector's manifest and runs in a sandboxed iframe, so this
// chunk stays small (~55 KB) and wallets update without a new bundle. Loaded with import() only off
// localnet; bundle.ts leaves it out of the localnet bundle.
import { NearConnector } from "@hot-labs/near-connect";
import type { AppConfig } from "../config.js";
import { type FinalOutcome, outcomeValue } from "../near/rpc.js";
import type { SignAndSendParams, WalletWithSignIn } from "./types.js";

export async function createConnectorWallet(
  config: AppConfig & { network: "testnet" | "mainnet" },
  cspNonce: string,
): Promise<WalletWithSignIn> {
  const connector = new NearConnector({
    network: config.network,
    manifest: config.wallet_manifest,
    providers: { [config.network]: [config.rpc_url] },
    cspNonce,
    footerBranding: null,
  });
  let current: string | null = null;
  const listeners = new Set<() => void>();
  const set = (id: string | null) => {
    current = id;
    for (const l of listeners) l();
  };
  connector.on("wallet:signIn", (e) => set(e.accounts[0]?.accountId ?? null));
  connector.on("wallet:signOut", () => set(null));
  // A wallet connected in an earlier visit: ask it (in its iframe) which account is signed in.
  await connector
    .getConnectedWallet()
    .then(({ accounts }) => set(accounts[0]?.accountId ?? null))
    .catch(() => set(null));
  return {
    kind: "connector",
    accountId: () => current,
    availableAccounts: () => [],
    onAccountChange: (listener) => listeners.add(listener),
    async signIn() {
      const wallet = await connector.connect();
      const accounts = await wallet.getAccounts();
      set(accounts[0]?.accountId ?? current);
      return current;
    },
    async signOut() {
      await connector.disconnect().catch(() => {});
      set(null);
    },
    async signAndSendTransaction({ receiverId, actions }: SignAndSendParams): Promise<FinalOutcome> {
      const wallet = await connector.wallet();
      const outcome = (await wallet.signAndSendTransaction({
        receiverId,
        actions,
        signerId: current ?? undefined,
      })) as unknown as FinalOutcome;
      if (!outcome?.transaction) throw new Error("The wallet did not return the transaction's outcome.");
      outcomeValue(outcome); // throws TxFailedError with the contract's reason if a receipt failed
      return outcome;
    },
  };
}
