// What the proxy needs from NEAR: the escrow of a conversation and the deployment nonce its refunds
// are signed for. Tests and the demo use the in-memory client.
import type { ConversationView } from "#wire";

export interface ChainClient {
  /** `view_ai_conversation({conversation_id})` at finality final; undefined when the id is unknown. */
  viewConversation(conversationId: string): Promise<ConversationView | undefined>;
  /** `get_config().deployment` (fixed for the life of a deployment, so clients may cache it). */
  deployment(): Promise<string>;
}

/** The chain could not be asked (network, RPC error): a 503 for the client, not a 404. */
export class ChainUnavailableError extends Error {
  override name = "ChainUnavailableError";
}
