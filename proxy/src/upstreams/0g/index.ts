// `0g`: the 0G Compute Network through the 0G serving broker SDK. The proxy's 0G wallet pays
// providers from its 0G ledger; this adapter picks the provider from `model`, makes sure it is
// trusted, reachable and funded before anything is spent, signs each request with the SDK's
// session-token headers, forwards it unchanged and settles bookkeeping in finish().
//
// Status mapping (UpstreamError, raised before any response exists; nothing is spent on chain):
//   402 insufficient_ledger_balance  the ledger (and, if enabled, the wallet top-up) cannot fund the provider
//   503 provider_unacknowledged      the contract owner has not acknowledged the provider's TEE signer
//   503 provider_unavailable         the provider's endpoint cannot be reached
//   404 model_not_found              no acknowledged 0G provider serves that model
//   502 zerog_error                  SDK / chain / RPC failure (message sanitised: never the key)
import { createZGComputeNetworkBroker, type ZGComputeNetworkBroker } from "@0glabs/0g-serving-broker";
import { Contract, isAddress, JsonRpcProvider, Wallet } from "ethers";
import type { ProviderConfig } from "../../config.js";
import {
  type ModelInfo,
  type Upstream,
  type UpstreamChatRequest,
  UpstreamError,
  type UpstreamHead,
  type Usage,
  type WebUpstreamCall,
} from "../types.js";
import { INFERENCE_ABI, LEDGER_ABI } from "./abi.js";
import { fromProviderOptions, type ResolvedZeroGConfig, resolveConfig, type ZeroGConfig } from "./config.js";

export type { ZeroGConfig } from "./config.js";

/** The provider broker's rule: each request needs 1 0G locked beyond the unsettled fees. */
const MIN_LOCKED = 10n ** 18n;
/** LedgerManager.MIN_ACCOUNT_BALANCE: a ledger is created with at least 3 0G. */
const MIN_LEDGER = 3n * 10n ** 18n;

interface Service {
  provider: string;
  model: string;
  url: string;
  inputPrice: bigint;
  outputPrice: bigint;
  teeSignerAcknowledged: boolean;
}

interface ProviderState {
  service: Service;
  endpoint: string;
  checkedAt: number;
}

export interface ZeroGStats {
  requests: number;
  processed: number;
  verified: number;
  unverified: number;
  /** Fees computed from usage at the provider's prices (wei), what the provider will settle. */
  feesWei: bigint;
  topUps: number;
  transfers: number;
}

class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => {});
    return next;
  }
}

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
  readonly #c: ResolvedZeroGConfig;
  readonly #rpc: JsonRpcProvider;
  readonly #wallet: Wallet;
  readonly #ledger: Contract;
  readonly #inference: Contract;
  #broker?: Promise<ZGComputeNetworkBroker>;
  #services?: { at: number; list: Service[] };
  readonly #ready = new Map<string, Promise<ProviderState>>();
  /** All our transactions go through one queue: one wallet, one nonce sequence. */
  readonly #txs = new Mutex();
  #closed = false;

  constructor(config: ZeroGConfig) {
    this.#c = resolveConfig(config);
    this.name = this.#c.name;
    const key = this.#c.privateKey.startsWith("0x") ? this.#c.privateKey : `0x${this.#c.privateKey}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(key))
      throw new Error(`${this.name}: the 0G private key is not a 32-byte hex key`);
    // No request cache: several txs in a row must each see the fresh nonce.
    this.#rpc = new JsonRpcProvider(this.#c.rpcUrl, undefined, {
      cacheTimeout: -1,
      pollingInterval: this.#c.network === "local" ? 50 : 1000,
    });
    this.#wallet = new Wallet(key, this.#rpc);
    this.#ledger = new Contract(this.#c.ledgerAddress, LEDGER_ABI, this.#wallet);
    this.#inference = new Contract(this.#c.inferenceAddress, INFERENCE_ABI, this.#wallet);
  }

  /** The wallet address (public), for logs and docs. */
  get address(): string {
    return this.#wallet.address;
  }

  async listModels(): Promise<ModelInfo[]> {
    const services = await this.#guard(() => this.#listServices());
    const seen = new Set<string>();
    const out: ModelInfo[] = [];
    for (const s of services) {
      if (!s.teeSignerAcknowledged || seen.has(s.model)) continue;
      seen.add(s.model);
      out.push({ id: s.model, owned_by: `0g:${s.provider}`, context_window: this.#c.contextWindow });
    }
    return out;
  }

  async chat(request: UpstreamChatRequest): Promise<WebUpstreamCall> {
    if (this.#closed) throw new UpstreamError(503, `${this.name} is shut down`, "provider_unavailable", true);
    this.stats.requests++;
    const providerAddr = await this.#resolveProvider(request.body.model);
    const state = await this.#providerReady(providerAddr);
    await this.#ensureFunded(state);
    const broker = await this.#getBroker();
    const headers = await this.#guard(() => broker.inference.getRequestHeaders(providerAddr));
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
      // Forget readiness: the next request re-probes before spending anything.
      this.#ready.delete(providerAddr.toLowerCase());
      throw new UpstreamError(
        503,
        `0G provider ${providerAddr} is unreachable at ${state.service.url}`,
        "provider_unavailable",
        true,
      );
    }
    return {
      response,
      finish: (result) => this.#finish(state, result),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#broker) {
      const broker = await this.#broker.catch(() => undefined);
      broker?.inference.stopAutoFunding();
    }
    this.#rpc.destroy();
  }

  // ---------------------------------------------------------------------------------------------

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
      const broker = await this.#getBroker();
      // Caches the fee for auto-funding and, given the chat id, verifies the TEE signature.
      const ok = await broker.inference.processResponse(
        state.service.provider,
        chatId,
        usage ? JSON.stringify(usage) : undefined,
      );
      this.stats.processed++;
      if (ok === true) this.stats.verified++;
      else if (ok === false) this.stats.unverified++;
    } catch (e) {
      // The answer was delivered and is billed either way; a failed verification is only recorded.
      this.stats.unverified++;
      void e;
    }
    // Spending may have taken the sub-account close to the minimum: re-check on the next request.
    state.checkedAt = 0;
    void this.#topUpLedgerIfLow().catch(() => {});
  }

  #getBroker(): Promise<ZGComputeNetworkBroker> {
    this.#broker ??= this.#guard(() =>
      createZGComputeNetworkBroker(
        this.#wallet as never,
        this.#c.ledgerAddress,
        this.#c.inferenceAddress,
        this.#c.fineTuningAddress,
        this.#c.gasPrice === undefined ? undefined : Number(this.#c.gasPrice),
      ),
    ).catch((e) => {
      this.#broker = undefined; // retry on the next request
      throw e;
    });
    return this.#broker;
  }

  async #listServices(): Promise<Service[]> {
    if (this.#services && Date.now() - this.#services.at < this.#c.serviceCacheMs) return this.#services.list;
    const broker = await this.#getBroker();
    const raw = (await broker.inference.listService(0, 50, true)) as unknown as Service[];
    const list = raw.map((s) => ({
      provider: s.provider,
      model: s.model,
      url: s.url,
      inputPrice: BigInt(s.inputPrice),
      outputPrice: BigInt(s.outputPrice),
      teeSignerAcknowledged: s.teeSignerAcknowledged,
    }));
    this.#services = { at: Date.now(), list };
    return list;
  }

  async #resolveProvider(model: string): Promise<string> {
    if (isAddress(model)) return model;
    const pinned = this.#c.providers[model];
    if (pinned) return pinned;
    const services = await this.#guard(() => this.#listServices());
    const matches = services.filter((s) => s.model === model);
    const trusted = matches.find((s) => s.teeSignerAcknowledged);
    if (trusted) return trusted.provider;
    if (matches[0]) {
      throw new UpstreamError(
        503,
        `0G provider ${matches[0].provider} for "${model}" is not acknowledged by the 0G contract owner`,
        "provider_unacknowledged",
      );
    }
    throw new UpstreamError(404, `no 0G provider serves model "${model}"`, "model_not_found");
  }

  #providerReady(addr: string): Promise<ProviderState> {
    const key = addr.toLowerCase();
    let p = this.#ready.get(key);
    if (!p) {
      p = this.#prepare(addr);
      this.#ready.set(key, p);
      p.catch(() => this.#ready.delete(key));
    }
    return p;
  }

  /** Trusted → reachable → funded → acknowledged: checks that cost nothing come before any tx. */
  async #prepare(addr: string): Promise<ProviderState> {
    const svc = await this.#guard(async () => {
      const exists: boolean = await this.#inference.getFunction("serviceExists")(addr);
      if (!exists) return undefined;
      return (await this.#inference.getFunction("getService")(addr)) as Service;
    });
    if (!svc) throw new UpstreamError(404, `0G provider ${addr} has no inference service`, "model_not_found");
    const service: Service = {
      provider: svc.provider,
      model: svc.model,
      url: svc.url,
      inputPrice: BigInt(svc.inputPrice),
      outputPrice: BigInt(svc.outputPrice),
      teeSignerAcknowledged: svc.teeSignerAcknowledged,
    };
    if (!service.teeSignerAcknowledged) {
      throw new UpstreamError(
        503,
        `0G provider ${addr}'s TEE signer is not acknowledged by the 0G contract owner; refusing to fund or use it`,
        "provider_unacknowledged",
      );
    }
    await this.#probe(service);
    const state: ProviderState = { service, endpoint: `${service.url}/v1/proxy`, checkedAt: 0 };
    await this.#ensureFunded(state);
    const broker = await this.#getBroker();
    // Once per provider per process; the SDK returns at once if the account already acknowledged.
    await this.#txs.run(() =>
      this.#guard(() => broker.inference.acknowledgeProviderSigner(addr, this.#gasNumber())),
    );
    // Background sub-account funding; also makes getRequestHeaders skip its inline balance check.
    await this.#guard(() =>
      broker.inference.startAutoFunding(
        addr,
        { interval: this.#c.fundingIntervalMs, bufferMultiplier: this.#c.subAccountBuffer },
        this.#gasNumber(),
      ),
    );
    return state;
  }

  async #probe(service: Service): Promise<void> {
    try {
      // Any HTTP answer means "up"; only a connection failure or timeout means "down".
      const r = await fetch(`${service.url}/v1/quote`, {
        signal: AbortSignal.timeout(this.#c.probeTimeoutMs),
      });
      await r.body?.cancel();
    } catch {
      throw new UpstreamError(
        503,
        `0G provider ${service.provider} is unreachable at ${service.url}`,
        "provider_unavailable",
        true,
      );
    }
  }

  /**
   * The request path's funding guard: the provider refuses a request unless the sub-account holds
   * unsettled fees + 1 0G. Below that we move funds ledger → sub-account now (topping the ledger up
   * from the wallet first if allowed), or answer 402 without spending anything.
   */
  async #ensureFunded(state: ProviderState): Promise<void> {
    if (Date.now() - state.checkedAt < this.#c.balanceCheckMs) return;
    await this.#txs.run(async () => {
      const provider = state.service.provider;
      const { locked, exists } = await this.#guard(async () => {
        const exists: boolean = await this.#inference.getFunction("accountExists")(
          this.#wallet.address,
          provider,
        );
        if (!exists) return { locked: 0n, exists };
        const a = await this.#inference.getFunction("getAccount")(this.#wallet.address, provider);
        return { locked: (a.balance as bigint) - (a.pendingRefund as bigint), exists };
      });
      const unsettled = exists ? await this.#unsettledFee(state) : 0n;
      if (locked >= unsettled + MIN_LOCKED) {
        state.checkedAt = Date.now();
        return;
      }
      let deficit = unsettled + BigInt(this.#c.subAccountBuffer) * MIN_LOCKED - locked;
      if (deficit < MIN_LOCKED) deficit = MIN_LOCKED; // LedgerManager.MIN_TRANSFER_AMOUNT for new accounts
      await this.#ensureLedgerAvailable(deficit);
      await this.#guard(async () => {
        const name = await this.#serviceName();
        await (
          await this.#ledger.getFunction("transferFund")(provider, name, deficit, this.#txOpts())
        ).wait();
      });
      this.stats.transfers++;
      state.checkedAt = Date.now();
    });
  }

  async #unsettledFee(state: ProviderState): Promise<bigint> {
    try {
      const broker = await this.#getBroker();
      const headers = (await broker.inference.getRequestHeaders(state.service.provider)) as unknown as Record<
        string,
        string
      >;
      const r = await fetch(`${state.service.url}/v1/user/${this.#wallet.address}/unsettledfee`, {
        headers,
        signal: AbortSignal.timeout(this.#c.probeTimeoutMs),
      });
      if (!r.ok) return 0n;
      return BigInt(((await r.json()) as { unsettledFee?: string }).unsettledFee ?? "0");
    } catch {
      return 0n; // not acknowledged yet / endpoint unsupported: the provider itself is the backstop
    }
  }

  /** Makes `need` wei available in the ledger, depositing from the wallet if top-ups are on; else 402. */
  async #ensureLedgerAvailable(need: bigint): Promise<void> {
    const ledger = await this.#readLedger();
    if (ledger.available >= need) return;
    const shortBy = need - ledger.available;
    const topUp = this.#c.ledgerTopUp;
    if (topUp === 0n) {
      throw new UpstreamError(
        402,
        `0G ledger balance too low: ${ledger.available} wei available, ${need} wei needed (auto top-up is off; deposit with npm run 0g:deposit)`,
        "insufficient_ledger_balance",
      );
    }
    // biome-ignore lint/complexity/useMathMinMax: bigint amounts; Math.max would coerce them to floats
    let deposit = topUp > shortBy ? topUp : shortBy;
    if (!ledger.exists && deposit < MIN_LEDGER) deposit = MIN_LEDGER;
    await this.#deposit(deposit, need);
  }

  async #deposit(amount: bigint, need: bigint): Promise<void> {
    const wallet = await this.#guard(() => this.#rpc.getBalance(this.#wallet.address));
    // Leave room for gas: a deposit that would strand the wallet without gas money helps nobody.
    const gasReserve = 10n ** 16n;
    if (wallet < amount + gasReserve) {
      throw new UpstreamError(
        402,
        `0G ledger needs ${need} wei and the wallet ${this.#wallet.address} holds only ${wallet} wei; fund the wallet, then npm run 0g:deposit`,
        "insufficient_ledger_balance",
      );
    }
    await this.#guard(async () => {
      await (await this.#ledger.getFunction("depositFund")({ ...this.#txOpts(), value: amount })).wait();
    });
    this.stats.topUps++;
  }

  /** After traffic: keep the ledger above `ledgerMinBalance` (wallet → ledger), if enabled. */
  async #topUpLedgerIfLow(): Promise<void> {
    if (this.#c.ledgerTopUp === 0n || this.#closed) return;
    await this.#txs.run(async () => {
      const ledger = await this.#readLedger();
      if (ledger.exists && ledger.available >= this.#c.ledgerMinBalance) return;
      const amount = !ledger.exists && this.#c.ledgerTopUp < MIN_LEDGER ? MIN_LEDGER : this.#c.ledgerTopUp;
      await this.#deposit(amount, this.#c.ledgerMinBalance);
    });
  }

  async #readLedger(): Promise<{ exists: boolean; available: bigint }> {
    return this.#guard(async () => {
      try {
        const l = await this.#ledger.getFunction("getLedger")(this.#wallet.address);
        return { exists: true, available: l.availableBalance as bigint };
      } catch (e) {
        if ((e as { revert?: { name?: string } }).revert?.name === "LedgerNotExists")
          return { exists: false, available: 0n };
        throw e;
      }
    });
  }

  #serviceNameCache?: string;
  async #serviceName(): Promise<string> {
    if (!this.#serviceNameCache) {
      const info = await this.#ledger.getFunction("getServiceInfo")(this.#c.inferenceAddress);
      this.#serviceNameCache = info.fullName as string;
    }
    return this.#serviceNameCache;
  }

  #txOpts(): { gasPrice?: bigint } {
    return this.#c.gasPrice === undefined ? {} : { gasPrice: this.#c.gasPrice };
  }

  #gasNumber(): number | undefined {
    return this.#c.gasPrice === undefined ? undefined : Number(this.#c.gasPrice);
  }

  /** Runs an SDK/chain call; anything that is not already an UpstreamError becomes a sanitised 502. */
  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof UpstreamError) throw e;
      throw new UpstreamError(502, `0G ${this.name}: ${this.#sanitise(e)}`, "zerog_error", true);
    }
  }

  #sanitise(e: unknown): string {
    const err = e as { revert?: { name?: string }; shortMessage?: string; message?: string };
    const reverted = err.revert?.name ?? this.#nestedRevert(e);
    let msg = reverted
      ? `contract reverted with ${reverted}`
      : (err.shortMessage ?? err.message ?? String(e));
    msg = msg.split("\n")[0] ?? "";
    const key = this.#c.privateKey.replace(/^0x/, "");
    msg = msg.split(key).join("[redacted]");
    return msg.length > 300 ? `${msg.slice(0, 300)}…` : msg;
  }

  /** Hardhat (and some RPCs) nest revert data as error.data.data; ethers then cannot name it. */
  #nestedRevert(e: unknown): string | undefined {
    const data = (e as { info?: { error?: { data?: { data?: unknown } } } }).info?.error?.data?.data;
    if (typeof data !== "string" || !data.startsWith("0x")) return undefined;
    for (const c of [this.#ledger, this.#inference]) {
      try {
        const parsed = c.interface.parseError(data);
        if (parsed) return parsed.name;
      } catch {}
    }
    return undefined;
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
