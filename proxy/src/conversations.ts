// Conversation lookup: the store first, the chain on first sight (then the store is the truth, since
// it knows what was spent). Concurrent first requests share one chain call.
import { isConversationId, parseTimestamp, parseU128 } from "../../wire/index.js";
import { type ChainClient, ChainUnavailableError } from "./chain/types.js";
import { errors } from "./errors.js";
import type { ConversationState, ConversationStore } from "./store/types.js";

export class ConversationService {
  readonly #loading = new Map<string, Promise<ConversationState>>();

  constructor(
    private readonly store: ConversationStore,
    private readonly chain: ChainClient,
  ) {}

  /** The conversation's ledger state; 404 when the chain does not know it, 403 when refunded on chain. */
  async load(conversationId: string): Promise<ConversationState> {
    const known = await this.store.getConversation(conversationId);
    if (known) return known;
    let pending = this.#loading.get(conversationId);
    if (!pending) {
      pending = this.#fromChain(conversationId).finally(() => this.#loading.delete(conversationId));
      this.#loading.set(conversationId, pending);
    }
    return pending;
  }

  async #fromChain(conversationId: string): Promise<ConversationState> {
    if (!isConversationId(conversationId)) throw errors.unknownConversation();
    let view: Awaited<ReturnType<ChainClient["viewConversation"]>>;
    try {
      view = await this.chain.viewConversation(conversationId);
    } catch (e) {
      if (e instanceof ChainUnavailableError) throw errors.chainUnavailable();
      throw e;
    }
    if (!view || view.conversation_id !== conversationId) throw errors.unknownConversation();
    // "expired" is still an open escrow: the proxy will not serve it (admission), but can still sign
    // its refund, which pays until the opener reclaims it.
    if (view.status !== "open" && view.status !== "expired") throw errors.conversationClosed();
    let escrow: { deposit: bigint; created_at: bigint; expires_at: bigint };
    try {
      escrow = {
        deposit: parseU128(view.deposit, "deposit"),
        created_at: parseTimestamp(view.created_at, "created_at"),
        expires_at: parseTimestamp(view.expires_at, "expires_at"),
      };
    } catch {
      throw errors.chainUnavailable(); // not an escrow v2 contract, or a broken RPC answer
    }
    return this.store.ensureConversation({
      conversation_id: conversationId,
      receiver_id: view.receiver_id,
      deposit: escrow.deposit,
      escrow: { created_at: escrow.created_at, expires_at: escrow.expires_at },
    });
  }
}
