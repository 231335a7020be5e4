// In-memory escrows: the fake chain for tests and the `npm start` demo (chain.type: memory).
import { randomBytes } from "node:crypto";
import type { ConversationView } from "#wire";
import { conversationIdFromSecret } from "../auth.js";
import type { ChainClient } from "./types.js";

const DAY_NS = 86_400n * 1_000_000_000n;

export class MemoryChainClient implements ChainClient {
  readonly conversations = new Map<string, ConversationView>();
  /** How many view calls were made (tests check the store is read after first sight). */
  views = 0;
  readonly deploymentNonce = randomBytes(16).toString("hex");

  open(secret: string, amount: bigint, receiverId = "alice.test.near", lifetimeNs = 30n * DAY_NS): string {
    const conversation_id = conversationIdFromSecret(secret);
    const created = BigInt(Date.now()) * 1_000_000n;
    this.conversations.set(conversation_id, {
      conversation_id,
      receiver_id: receiverId,
      deposit: amount.toString(),
      created_at: created.toString(),
      expires_at: (created + lifetimeNs).toString(),
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

  async deployment(): Promise<string> {
    return this.deploymentNonce;
  }
}
