// The one wallet interface the app talks to. Two implementations: the localnet dev wallet (keys from
// config.json, signs in the page) and NEAR Wallet Selector (MyNearWallet) for testnet/mainnet.

import type { FinalOutcome } from "../near/rpc.js";
import type { Action } from "../near/tx.js";

export type { Action, FunctionCallAction } from "../near/tx.js";

export interface SignAndSendParams {
  receiverId: string;
  actions: Action[];
}

export interface Wallet {
  readonly kind: "dev" | "selector";
  /** Signed-in account, or null. */
  accountId(): string | null;
  /**
   * Signs and submits; resolves with the final outcome. A redirect wallet may navigate away instead
   * (the promise then never settles and the app resumes from the returned URL).
   */
  signAndSendTransaction(params: SignAndSendParams): Promise<FinalOutcome>;
  signOut(): Promise<void>;
}

/** A wallet that can list accounts to pick from (dev wallet) or open its own sign-in UI (selector). */
export interface WalletWithSignIn extends Wallet {
  signIn(accountId?: string): Promise<string | null>;
  /** Accounts offered by the dev wallet; empty for external wallets. */
  availableAccounts(): string[];
}
