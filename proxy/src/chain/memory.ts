// In-memory escrows: the fake chain for tests and the `npm start` demo (chain.type: memory).
import type { ConversationView } from "../../../wire/index.js";
import { conversationIdFromSecret } from "../auth.js";
import type { ChainClient } from "./types.js";

export class MemoryChainClient implements ChainClient {
  readonly conversations = new Map<string, ConversationView>();
  /** How many view calls were made (tests check the store is read after first sight). */
  views = 0;

  open(secret: string, amount: bigint, receiverId = "alice.test.near"): string {
    const conversation_id = conversationIdFromSecret(secret);
    this.conversations.set(conversation_id, {
      conversation_id,
      receiver_id: receiverId,
      amount: amount.toString(),
      created_at: String(Date.now() * 1_000_000),
      status: "open",
    });
    return conversation_id;
  }

  markRefunded(conversationId: string, refundAmount: bigint): void {
    const view = this.conversations.get(conversationId);
    if (view)
      this.conversations.set(conversationId, {
        ...view,
        status: "refunded",
        refund_amount: refundAmount.toString(),
      });
  }

  async viewConversation(conversationId: string): Promise<ConversationView | undefined> {
    this.views++;
    return this.conversations.get(conversationId);
  }
}
