// The one wallet interface the app talks to. Two implementations: the localnet dev wallet (keys from
// config.json, signs in the page) and NEAR Connect for testnet/mainnet (wallets in sandboxed iframes).

import type { FinalOutcome } from "../near/rpc.js";
import type { Action } from "../near/tx.js";

export type { Action, FunctionCallAction } from "../near/tx.js";

export interface SignAndSendParams {
  receiverId: string;
  actions: Action[];
}

export interface Wallet {
  readonly kind: "dev" | "connector";
  /** Signed-in account, or null. */
  accountId(): string | null;
  /** Signs and submits; resolves with the final outcome (throws TxFailedError if a receipt failed). */
  signAndSendTransaction(params: SignAndSendParams): Promise<FinalOutcome>;
  signOut(): Promise<void>;
}

/** A wallet that can list accounts to pick from (dev wallet) or open its own sign-in UI (connector). */
export interface WalletWithSignIn extends Wallet {
  signIn(accountId?: string): Promise<string | null>;
  /** Accounts offered by the dev wallet; empty for external wallets. */
  availableAccounts(): string[];
  /** Called when the account changes outside signIn/signOut (the wallet's own UI). */
  onAccountChange?(listener: () => void): void;
}
