// The real ChainClient: near-api-js 7.2 JsonRpcProvider.callFunction at finality final.
import { JsonRpcProvider } from "near-api-js";
import type { ConversationView } from "#wire";
import { withTimeout } from "../timeout.js";
import { type ChainClient, ChainUnavailableError } from "./types.js";

export interface NearChainOptions {
  rpcUrl: string;
  contractId: string;
  timeoutMs?: number;
}

export class NearChainClient implements ChainClient {
  readonly #provider: JsonRpcProvider;
  #deployment: Promise<string> | undefined;

  constructor(private readonly options: NearChainOptions) {
    this.#provider = new JsonRpcProvider({ url: options.rpcUrl }, { retries: 2, backoff: 2, wait: 200 });
  }

  async viewConversation(conversationId: string): Promise<ConversationView | undefined> {
    const result = await this.#view("view_ai_conversation", { conversation_id: conversationId });
    if (result === null || result === undefined) return undefined;
    return result as ConversationView;
  }

  /** Read once per process (a failed read is retried next time). */
  deployment(): Promise<string> {
    this.#deployment ??= this.#view("get_config", {}).then((config) => {
      const deployment = (config as { deployment?: unknown } | null)?.deployment;
      if (typeof deployment !== "string" || !/^[0-9a-f]{32}$/.test(deployment))
        throw new ChainUnavailableError(
          `${this.options.contractId} shows no deployment nonce in get_config: is it an escrow v2 token contract?`,
        );
      return deployment;
    });
    this.#deployment.catch(() => {
      this.#deployment = undefined;
    });
    return this.#deployment;
  }

  async #view(method: string, args: Record<string, unknown>): Promise<unknown> {
    const ms = this.options.timeoutMs ?? 10_000;
    try {
      return await withTimeout(
        this.#provider.callFunction({
          contractId: this.options.contractId,
          method,
          args,
          blockQuery: { finality: "final" },
        }),
        ms,
        `RPC timed out after ${ms} ms`,
      );
    } catch (e) {
      throw new ChainUnavailableError(`${method} failed: ${(e as Error).message}`);
    }
  }
}
