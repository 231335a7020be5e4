// Finding and preparing 0G providers: the services on chain (cached serviceCacheMs), the provider for
// a model (pinned in config, an address, or discovered), and a provider made ready once per process:
// trusted → reachable → funded → acknowledged → auto-funded, the checks that cost nothing before any
// transaction. A failed preparation is forgotten, so the next request tries again.
import { isAddress } from "ethers";
import type { ModelInfo } from "../types.js";
import { listServices, providerFor, readService, type Service } from "./chain.js";
import { zeroGErrors } from "./errors.js";
import type { Funding } from "./funding.js";
import type { ProviderState } from "./types.js";
import type { ZeroGWallet } from "./wallet.js";

export class Discovery {
  #services?: { at: number; list: Service[] };
  readonly #ready = new Map<string, Promise<ProviderState>>();

  constructor(
    private readonly w: ZeroGWallet,
    private readonly funding: Funding,
  ) {}

  /** One entry per model an acknowledged provider serves. */
  async models(): Promise<ModelInfo[]> {
    const seen = new Set<string>();
    const out: ModelInfo[] = [];
    for (const s of await this.#listServices()) {
      if (!s.teeSignerAcknowledged || seen.has(s.model)) continue;
      seen.add(s.model);
      out.push({ id: s.model, owned_by: `0g:${s.provider}`, context_window: this.w.config.contextWindow });
    }
    return out;
  }

  /** `model` as a provider address: itself, a pinned provider, or the acknowledged one serving it. */
  async resolve(model: string): Promise<string> {
    if (isAddress(model)) return model;
    const pinned = this.w.config.providers[model];
    if (pinned) return pinned;
    const service = providerFor(await this.#listServices(), model);
    if (!service) throw zeroGErrors.noProviderFor(model);
    if (!service.teeSignerAcknowledged) {
      throw zeroGErrors.unacknowledged(
        `0G provider ${service.provider} for "${model}" is not acknowledged by the 0G contract owner`,
      );
    }
    return service.provider;
  }

  ready(provider: string): Promise<ProviderState> {
    const key = provider.toLowerCase();
    let p = this.#ready.get(key);
    if (!p) {
      p = this.#prepare(provider);
      this.#ready.set(key, p);
      p.catch(() => this.#ready.delete(key));
    }
    return p;
  }

  /** Forget readiness: the next request re-probes before spending anything. */
  forget(provider: string): void {
    this.#ready.delete(provider.toLowerCase());
  }

  #listServices(): Promise<Service[]> {
    return this.w.guard(async () => {
      const cached = this.#services;
      if (cached && Date.now() - cached.at < this.w.config.serviceCacheMs) return cached.list;
      const list = await listServices(this.w.inference);
      this.#services = { at: Date.now(), list };
      return list;
    });
  }

  async #prepare(provider: string): Promise<ProviderState> {
    const service = await this.w.guard(() => readService(this.w.inference, provider));
    if (!service) throw zeroGErrors.noService(provider);
    if (!service.teeSignerAcknowledged) {
      throw zeroGErrors.unacknowledged(
        `0G provider ${provider}'s TEE signer is not acknowledged by the 0G contract owner; refusing to fund or use it`,
      );
    }
    await this.#probe(service);
    const state: ProviderState = { service, endpoint: `${service.url}/v1/proxy`, checkedAt: 0 };
    await this.funding.ensureFunded(state);
    const broker = await this.w.broker();
    const gas = this.w.sdkGasPrice();
    // Once per provider per process; the SDK returns at once if the account already acknowledged.
    await this.w.transaction(() =>
      this.w.guard(() => broker.inference.acknowledgeProviderSigner(provider, gas)),
    );
    // Background sub-account funding; also makes getRequestHeaders skip its inline balance check.
    const { fundingIntervalMs: interval, subAccountBuffer: bufferMultiplier } = this.w.config;
    await this.w.guard(() =>
      broker.inference.startAutoFunding(provider, { interval, bufferMultiplier }, gas),
    );
    return state;
  }

  async #probe(service: Service): Promise<void> {
    try {
      // Any HTTP answer means "up"; only a connection failure or timeout means "down".
      const r = await fetch(`${service.url}/v1/quote`, {
        signal: AbortSignal.timeout(this.w.config.probeTimeoutMs),
      });
      await r.body?.cancel();
    } catch {
      throw zeroGErrors.unreachable(service.provider, service.url);
    }
  }
}
