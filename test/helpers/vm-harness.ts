// One contract with in-memory committed state, driven straight through a localnet ContractRuntime
// (no chain): what the VM tests use to call methods block after block. Failed calls commit nothing.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ContractRuntime, VMContext, VMOutcome } from "#localnet/vm";
import { builtContract } from "./contracts.js";

export const TGAS = 1_000_000_000_000n;
export const NEAR = 10n ** 24n;
const enc = new TextEncoder();

export class DeployedContract {
  readonly state = new Map<string, Uint8Array>();
  storageUsage = 100n;
  balance = 10n * NEAR;
  height = 100n;
  constructor(
    readonly runtime: ContractRuntime,
    readonly code: Uint8Array,
    readonly accountId: string,
    /** The runtime's module-cache key; tests that exercise the cache choose it. */
    readonly codeHash: string = accountId,
  ) {}

  /** test/contracts/<name>.ts, built on first use. */
  static async of(runtime: ContractRuntime, name: string, accountId = `${name}.test.near`) {
    return new DeployedContract(runtime, readFileSync(await builtContract(name)), accountId);
  }

  run(methodName: string, args: unknown = {}, opts: Partial<VMContext> = {}): VMOutcome {
    this.height += 1n;
    const context: VMContext = {
      currentAccountId: this.accountId,
      signerAccountId: "alice.test.near",
      signerAccountPk: new Uint8Array(33),
      predecessorAccountId: "alice.test.near",
      input: enc.encode(JSON.stringify(args)),
      blockHeight: this.height,
      blockTimestamp: 1_700_000_000_000_000_000n + this.height * 1_000_000_000n,
      epochHeight: 1n,
      accountBalance: this.balance + (opts.attachedDeposit ?? 0n),
      accountLockedBalance: 0n,
      storageUsage: this.storageUsage,
      attachedDeposit: 0n,
      prepaidGas: 100n * TGAS,
      randomSeed: createHash("sha256").update(`seed${this.height}`).digest(),
      isView: false,
      promiseResults: [],
      ...opts,
    };
    const out = this.runtime.run({
      code: this.code,
      codeHash: this.codeHash,
      methodName,
      context,
      storage: { get: (key) => this.state.get(Buffer.from(key).toString("hex")) },
    });
    if (!out.error && !context.isView) {
      for (const change of out.stateChanges) {
        const k = Buffer.from(change.key).toString("hex");
        if (change.value) this.state.set(k, change.value);
        else this.state.delete(k);
      }
      this.storageUsage = out.storageUsage;
      this.balance = out.balance;
    }
    return out;
  }

  view(methodName: string, args: unknown = {}): VMOutcome {
    return this.run(methodName, args, { isView: true });
  }
}

/** The JSON value a successful call returned; throws with the failure otherwise. */
export function returnedJson(out: VMOutcome): unknown {
  if (out.error) throw new Error(`call failed: ${out.error.message}`);
  if (out.returnData.kind !== "Value")
    throw new Error(`no value returned: ${JSON.stringify(out.returnData)}`);
  return JSON.parse(new TextDecoder().decode(out.returnData.data));
}

/** A failed call's ExecutionError string ("Smart contract panicked: …"), or "". */
export const executionError = (out: VMOutcome): string =>
  (out.error?.functionCallError as { ExecutionError?: string } | undefined)?.ExecutionError ?? "";
