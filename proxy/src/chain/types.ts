// What the proxy needs from NEAR: one view call. Tests and the demo use the in-memory client.
import type { ConversationView } from "../../../wire/index.js";

export interface ChainClient {
  /** `view_ai_conversation({conversation_id})` at finality final; undefined when the id is unknown. */
  viewConversation(conversationId: string): Promise<ConversationView | undefined>;
}

/** The chain could not be asked (network, RPC error): a 503 for the client, not a 404. */
export class ChainUnavailableError extends Error {
  override name = "ChainUnavailableError";
}
