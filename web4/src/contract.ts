// The token contract as the app uses it: views over RPC, changes through the wallet.
import { TGAS } from "./amount.js";
import { type FinalOutcome, type NearRpc, outcomeValue } from "./near/rpc.js";
import type { SignedRefund } from "./proxy.js";
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
export interface ConversationView {
  conversation_id: string;
  receiver_id: string;
  amount: string;
  created_at: string;
  status: "open" | "refunded";
  refund_amount?: string;
}

/**
 * Deposit attached to start_ai_conversation: 1 yocto (the NEP-141 "full access key" proof) plus
 * storage for the escrow record; the contract refunds whatever it does not use.
 */
export const CONVERSATION_DEPOSIT = 10n ** 22n + 1n;

const GAS = (100n * TGAS).toString();

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

  /** The contract's public config (token price etc.); null if this deployment has no such view. */
  async config(): Promise<Record<string, unknown> | null> {
    try {
      return await this.rpc.view<Record<string, unknown>>(this.contractId, "get_config");
    } catch {
      return null;
    }
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

  startConversation = (wallet: Wallet, conversationId: string, amount: bigint) =>
    this.call(
      wallet,
      "start_ai_conversation",
      { conversation_id: conversationId, amount: amount.toString() },
      CONVERSATION_DEPOSIT,
    );

  refundUnspent = (wallet: Wallet, signed: SignedRefund) =>
    this.call(
      wallet,
      "refund_unspent",
      { refund_message: signed.refund_message, signature: signed.signature },
      0n,
      (150n * TGAS).toString(),
    );
}

export { outcomeValue };
