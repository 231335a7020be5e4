// Loads the contract runtime (localnet/src/vm) on first use: QuickJS costs start-up time that a node
// which only moves NEAR, or has not yet seen a contract call, should not pay. The bundler turns this
// dynamic import into a separate chunk (scripts/setup.mjs: splitting).
import type { ContractRuntime } from "./vm/types.js";

export async function loadContractRuntime(): Promise<ContractRuntime> {
  const vm = await import("./vm/index.js");
  return vm.createContractRuntime();
}
