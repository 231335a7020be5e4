// The token contract's conversation surface over near-api-js 7.2 (views at finality final, calls
// signed by the user's account). Amounts stay BigInt / base-10 strings.
import type { Account, JsonRpcProvider } from "near-api-js";
import type { ConversationPage, ConversationView, EscrowConfig, SignedRefund } from "#wire";

const TGAS = 1_000_000_000_000n;
// Generous: near-sdk-js contracts burn far more gas than Rust ones; what is not burnt is refunded.
const GAS = 150n * TGAS;

export interface TokenConfig extends EscrowConfig {
  web4: { proxy_url: string; network: string; rpc_url: string };
}

export interface TokenMetadata {
  symbol: string;
  decimals: number;
}

export class TokenClient {
  constructor(
    readonly provider: JsonRpcProvider,
    readonly contractId: string,
  ) {}

  #view<T>(method: string, args: Record<string, unknown> = {}): Promise<T> {
    return this.provider.callFunction({
      contractId: this.contractId,
      method,
      args,
      blockQuery: { finality: "final" },
    }) as Promise<T>;
  }

  metadata = () => this.#view<TokenMetadata>("ft_metadata");
  config = () => this.#view<TokenConfig>("get_config");
  balanceOf = async (accountId: string) =>
    BigInt(await this.#view<string>("ft_balance_of", { account_id: accountId }));
  isRegistered = async (accountId: string) =>
    (await this.#view<unknown>("storage_balance_of", { account_id: accountId })) !== null;
  conversation = (conversationId: string) =>
    this.#view<ConversationView | null>("view_ai_conversation", { conversation_id: conversationId });
  page = (accountId: string, before?: number, limit = 100) =>
    this.#view<ConversationPage>("list_ai_conversations", {
      account_id: accountId,
      limit,
      ...(before === undefined ? {} : { before }),
    });

  /** Every conversation the account opened, newest first. */
  async conversations(accountId: string): Promise<ConversationPage["conversations"]> {
    const all: ConversationPage["conversations"] = [];
    let before: number | undefined;
    for (;;) {
      const page = await this.page(accountId, before);
      all.push(...page.conversations);
      if (page.next === null) return all;
      before = page.next;
    }
  }

  /** Attaches `deposit` (get_config.conversation_deposit_max: 1 yoctoNEAR + storage; excess refunded). */
  start(
    account: Account,
    a: { conversationId: string; amount: bigint; deposit: bigint; expiresInSecs?: number },
  ) {
    return account.callFunction({
      contractId: this.contractId,
      methodName: "start_ai_conversation",
      args: {
        conversation_id: a.conversationId,
        amount: a.amount.toString(),
        ...(a.expiresInSecs === undefined ? {} : { expires_in_secs: a.expiresInSecs }),
      },
      deposit: a.deposit,
      gas: GAS,
    });
  }

  refund = (account: Account, signed: SignedRefund) =>
    account.callFunction({
      contractId: this.contractId,
      methodName: "refund_unspent",
      args: { refund_message: signed.refund_message, signature: signed.signature },
      gas: GAS,
    });

  /** Returns the amount paid back to the opener (base units). */
  reclaim = async (account: Account, conversationId: string) =>
    BigInt(
      (await account.callFunction({
        contractId: this.contractId,
        methodName: "reclaim_expired_conversation",
        args: { conversation_id: conversationId },
        gas: GAS,
      })) as string,
    );
}
