// `0g`: the 0G Compute Network through the 0G serving broker SDK. The proxy's 0G wallet pays
// providers from its 0G ledger; this adapter picks the provider from `model` and makes sure it is
// trusted, reachable and funded before anything is spent (discovery.ts, funding.ts), signs each
// request with the SDK's session-token headers, forwards it unchanged and settles bookkeeping in
// finish(). Its errors and their statuses are in errors.ts; what it knows of the chain, shared with
// the `npm run 0g` scripts, in chain.ts.
import type { ProviderConfig } from "../../config.js";
import type {
  ModelInfo,
  Upstream,
  UpstreamChatRequest,
  UpstreamHead,
  Usage,
  WebUpstreamCall,
} from "../types.js";
import { fromProviderOptions, resolveConfig, type ZeroGConfig } from "./config.js";
import { Discovery } from "./discovery.js";
import { zeroGErrors } from "./errors.js";
import { Funding } from "./funding.js";
import type { ProviderState, ZeroGStats } from "./types.js";
import { ZeroGWallet } from "./wallet.js";

export type { ZeroGConfig } from "./config.js";
export type { ZeroGStats } from "./types.js";

export class ZeroGUpstream implements Upstream {
  readonly name: string;
  readonly stats: ZeroGStats = {
    requests: 0,
    processed: 0,
    verified: 0,
    unverified: 0,
    feesWei: 0n,
    topUps: 0,
    transfers: 0,
  };
  readonly #w: ZeroGWallet;
  readonly #funding: Funding;
  readonly #discovery: Discovery;
  #closed = false;

  constructor(config: ZeroGConfig) {
    this.#w = new ZeroGWallet(resolveConfig(config));
    this.name = this.#w.config.name;
    this.#funding = new Funding(this.#w, this.stats);
    this.#discovery = new Discovery(this.#w, this.#funding);
  }

  /** The wallet address (public), for logs and docs. */
  get address(): string {
    return this.#w.address;
  }

  listModels(): Promise<ModelInfo[]> {
    return this.#discovery.models();
  }

  async chat(request: UpstreamChatRequest): Promise<WebUpstreamCall> {
    if (this.#closed) throw zeroGErrors.shutDown(this.name);
    this.stats.requests++;
    const provider = await this.#discovery.resolve(request.body.model);
    const state = await this.#discovery.ready(provider);
    await this.#funding.ensureFunded(state);
    const broker = await this.#w.broker();
    const headers = await this.#w.guard(() => broker.inference.getRequestHeaders(provider));
    const body = { ...request.body, model: state.service.model };
    let response: Response;
    try {
      response = await fetch(`${state.endpoint}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(headers as unknown as Record<string, string>) },
        body: JSON.stringify(body),
        signal: request.signal,
      });
    } catch (e) {
      if (request.signal.aborted) throw e;
      this.#discovery.forget(provider);
      throw zeroGErrors.unreachable(provider, state.service.url);
    }
    return { response, finish: (result) => this.#finish(state, result) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#w.close();
  }

  async #finish(
    state: ProviderState,
    result: { id?: string; usage?: Usage; headers: UpstreamHead["headers"] },
  ): Promise<void> {
    const chatId = result.headers.get("ZG-Res-Key") ?? result.id;
    const usage = result.usage;
    if (usage) {
      this.stats.feesWei +=
        BigInt(usage.prompt_tokens) * state.service.inputPrice +
        BigInt(usage.completion_tokens) * state.service.outputPrice;
    }
    try {
      const broker = await this.#w.broker();
      // Caches the fee for auto-funding and, given the chat id, verifies the TEE signature.
      const ok = await broker.inference.processResponse(
        state.service.provider,
        chatId,
        usage ? JSON.stringify(usage) : undefined,
      );
      this.stats.processed++;
      if (ok === true) this.stats.verified++;
      else if (ok === false) this.stats.unverified++;
    } catch {
      // The answer was delivered and is billed either way; a failed verification is only recorded.
      this.stats.unverified++;
    }
    // Spending may have taken the sub-account close to the minimum: re-check on the next request.
    state.checkedAt = 0;
    if (!this.#closed) void this.#funding.topUpLedgerIfLow().catch(() => {});
  }
}

/** Typed factory: the adapter for one 0G wallet. */
export function createZeroGUpstream(config: ZeroGConfig): ZeroGUpstream {
  return new ZeroGUpstream(config);
}

/** The proxy registry's factory signature: (providers[] entry, env); options are snake_case. */
export function create0gUpstream(
  provider: ProviderConfig,
  env: NodeJS.ProcessEnv = process.env,
): ZeroGUpstream {
  return new ZeroGUpstream(fromProviderOptions(provider.name, provider.options ?? {}, env));
}

export default create0gUpstream;
