// Loads the contract runtime (localnet/src/vm) on first use: QuickJS costs start-up time that a node
// which only moves NEAR, or has not yet seen a contract call, should not pay.
import type { ContractRuntime } from "./vm/types.js";

export async function loadContractRuntime(): Promise<ContractRuntime> {
  const specifier = "./vm/index.js";
  const vm = (await import(specifier)) as {
    createContractRuntime: () => ContractRuntime | Promise<ContractRuntime>;
  };
  return vm.createContractRuntime();
}
