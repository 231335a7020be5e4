// The 0G adapter's wallet: one RPC connection, one signer, the ledger and inference contracts, the
// SDK broker (created on first use, again after a failed creation) and one transaction queue, since
// one wallet has one nonce sequence and two transactions built at once would take the same nonce.
import { createZGComputeNetworkBroker, type ZGComputeNetworkBroker } from "@0glabs/0g-serving-broker";
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import { InferenceServing, inferenceServiceName, LedgerManager } from "./chain.js";
import type { ResolvedZeroGConfig } from "./config.js";
import { guardWith } from "./errors.js";

export class ZeroGWallet {
  readonly rpc: JsonRpcProvider;
  readonly signer: Wallet;
  readonly ledger: Contract;
  readonly inference: Contract;
  /** Runs a chain/SDK call; failures become sanitised 502s (errors.ts). */
  readonly guard: <T>(fn: () => Promise<T>) => Promise<T>;
  #broker?: Promise<ZGComputeNetworkBroker>;
  #txTail: Promise<unknown> = Promise.resolve();
  #serviceName?: string;

  constructor(readonly config: ResolvedZeroGConfig) {
    const key = config.privateKey.startsWith("0x") ? config.privateKey : `0x${config.privateKey}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(key))
      throw new Error(`${config.name}: the 0G private key is not a 32-byte hex key`);
    this.guard = guardWith(config.name, key);
    // No request cache: several txs in a row must each see the fresh nonce.
    this.rpc = new JsonRpcProvider(config.rpcUrl, undefined, {
      cacheTimeout: -1,
      pollingInterval: config.network === "local" ? 50 : 1000,
    });
    this.signer = new Wallet(key, this.rpc);
    this.ledger = new Contract(config.ledgerAddress, LedgerManager.abi, this.signer);
    this.inference = new Contract(config.inferenceAddress, InferenceServing.abi, this.signer);
  }

  get address(): string {
    return this.signer.address;
  }

  broker(): Promise<ZGComputeNetworkBroker> {
    this.#broker ??= this.guard(() =>
      createZGComputeNetworkBroker(
        this.signer as never,
        this.config.ledgerAddress,
        this.config.inferenceAddress,
        this.config.fineTuningAddress,
        this.sdkGasPrice(),
      ),
    ).catch((e) => {
      this.#broker = undefined; // retry on the next request
      throw e;
    });
    return this.#broker;
  }

  /** Runs `fn` after every transaction queued before it (and whatever they awaited) has finished. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#txTail.then(fn, fn);
    this.#txTail = next.catch(() => {});
    return next;
  }

  async serviceName(): Promise<string> {
    this.#serviceName ??= await inferenceServiceName(this.ledger, this.config.inferenceAddress);
    return this.#serviceName;
  }

  /** Overrides for our own contract calls (exact bigint gas price, when configured). */
  txOptions(): { gasPrice?: bigint } {
    return this.config.gasPrice === undefined ? {} : { gasPrice: this.config.gasPrice };
  }

  /** The SDK takes the gas price as a JS number. */
  sdkGasPrice(): number | undefined {
    return this.config.gasPrice === undefined ? undefined : Number(this.config.gasPrice);
  }

  async close(): Promise<void> {
    if (this.#broker) {
      const broker = await this.#broker.catch(() => undefined);
      broker?.inference.stopAutoFunding();
    }
    this.rpc.destroy();
  }
}
