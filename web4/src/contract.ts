// The token contract as the app uses it: views over RPC, changes through the wallet.

import type { ConversationPage, ConversationView, SignedRefund } from "#wire";
import { TGAS } from "./amount.js";
import { type FinalOutcome, type NearRpc, outcomeValue } from "./near/rpc.js";
import type { Wallet } from "./wallet/types.js";

export interface FtMetadata {
  spec: string;
  name: string;
  symbol: string;
  decimals: number;
}
export interface StorageBalance {
  total: string;
  available: string;
}
// The wire types the proxy and scripts share; type-only, so nothing of wire/ (or ethers) is bundled.
export type { ConversationStatus, ConversationView } from "#wire";

/** Subset of the contract's get_config() view the app uses. */
export interface ContractConfig {
  /** yoctoNEAR per smallest token unit; "0" disables the sale. */
  token_price?: string;
  /** Upper bound of start_ai_conversation's deposit (1 yocto + the record's storage). */
  conversation_deposit_max?: string;
}

/**
 * Fallback deposit for start_ai_conversation when get_config is unavailable: 1 yocto plus generous
 * storage for the escrow record; the contract refunds whatever it does not use.
 */
export const CONVERSATION_DEPOSIT = 10n ** 22n + 1n;

/** Gas the app attaches; test/contract-gas.test.ts checks it against the WASM's measured gas. */
export const CALL_GAS = 100n * TGAS;
export const REFUND_GAS = 150n * TGAS;
const GAS = CALL_GAS.toString();

export class TokenContract {
  constructor(
    readonly contractId: string,
    private readonly rpc: NearRpc,
  ) {}

  metadata = () => this.rpc.view<FtMetadata>(this.contractId, "ft_metadata");
  balanceOf = async (accountId: string) =>
    BigInt((await this.rpc.view<string>(this.contractId, "ft_balance_of", { account_id: accountId })) ?? "0");
  storageBalanceOf = (accountId: string) =>
    this.rpc.view<StorageBalance | null>(this.contractId, "storage_balance_of", { account_id: accountId });
  storageBounds = () =>
    this.rpc.view<{ min: string; max?: string }>(this.contractId, "storage_balance_bounds");
  conversation = (conversationId: string) =>
    this.rpc.view<ConversationView | null>(this.contractId, "view_ai_conversation", {
      conversation_id: conversationId,
    });

  /** Every conversation the account opened, newest first (the contract pages them; capped at `max`). */
  async conversationsOf(accountId: string, max = 200): Promise<ConversationView[]> {
    const out: ConversationView[] = [];
    let before: number | null | undefined;
    do {
      const args = { account_id: accountId, limit: 50, ...(before != null ? { before } : {}) };
      const page = await this.rpc.view<ConversationPage>(this.contractId, "list_ai_conversations", args);
      out.push(...page.conversations);
      before = page.next;
    } while (before != null && out.length < max);
    return out;
  }

  private cachedConfig: Promise<ContractConfig | null> | null = null;
  /** The contract's public config (token price, deposits); null if this deployment has no such view. */
  config(): Promise<ContractConfig | null> {
    this.cachedConfig ??= this.rpc.view<ContractConfig>(this.contractId, "get_config").catch(() => null);
    return this.cachedConfig;
  }

  private call(
    wallet: Wallet,
    methodName: string,
    args: object,
    deposit: bigint,
    gas = GAS,
  ): Promise<FinalOutcome> {
    return wallet.signAndSendTransaction({
      receiverId: this.contractId,
      actions: [{ type: "FunctionCall", params: { methodName, args, gas, deposit: deposit.toString() } }],
    });
  }

  async register(wallet: Wallet, accountId: string): Promise<FinalOutcome> {
    const bounds = await this.storageBounds();
    return this.call(
      wallet,
      "storage_deposit",
      { account_id: accountId, registration_only: true },
      BigInt(bounds.min),
    );
  }

  buyTokens = (wallet: Wallet, yocto: bigint) => this.call(wallet, "buy_tokens_for_near", {}, yocto);

  async startConversation(wallet: Wallet, conversationId: string, amount: bigint): Promise<FinalOutcome> {
    const max = (await this.config())?.conversation_deposit_max;
    const deposit = max ? BigInt(max) : CONVERSATION_DEPOSIT;
    const args = { conversation_id: conversationId, amount: amount.toString() };
    return this.call(wallet, "start_ai_conversation", args, deposit);
  }

  /** After expires_at: the whole deposit back to the opener. */
  reclaim = (wallet: Wallet, conversationId: string) =>
    this.call(wallet, "reclaim_expired_conversation", { conversation_id: conversationId }, 0n);

  refundUnspent = (wallet: Wallet, signed: SignedRefund) =>
    this.call(
      wallet,
      "refund_unspent",
      { refund_message: signed.refund_message, signature: signed.signature },
      0n,
      REFUND_GAS.toString(),
    );
}

export { outcomeValue };
