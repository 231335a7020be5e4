// The real ChainClient: near-api-js 7.2 JsonRpcProvider.callFunction at finality final.
import { JsonRpcProvider } from "near-api-js";
import type { ConversationView } from "../../../wire/index.js";
import { type ChainClient, ChainUnavailableError } from "./types.js";

export interface NearChainOptions {
  rpcUrl: string;
  contractId: string;
  timeoutMs?: number;
}

export class NearChainClient implements ChainClient {
  readonly #provider: JsonRpcProvider;

  constructor(private readonly options: NearChainOptions) {
    this.#provider = new JsonRpcProvider({ url: options.rpcUrl }, { retries: 2, backoff: 2, wait: 200 });
  }

  async viewConversation(conversationId: string): Promise<ConversationView | undefined> {
    let result: unknown;
    try {
      result = await withTimeout(
        this.#provider.callFunction({
          contractId: this.options.contractId,
          method: "view_ai_conversation",
          args: { conversation_id: conversationId },
          blockQuery: { finality: "final" },
        }),
        this.options.timeoutMs ?? 10_000,
      );
    } catch (e) {
      throw new ChainUnavailableError(`view_ai_conversation failed: ${(e as Error).message}`);
    }
    if (result === null || result === undefined) return undefined;
    return result as ConversationView;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`RPC timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
