// Small WebAssembly test contracts written in the text format, assembled with wabt (the WebAssembly
// Binary Toolkit's own parser), plus the NEAR host-function imports they use.
import { createHash } from "node:crypto";
import wabtInit from "wabt";
import type { ContractRuntime } from "#localnet/vm";
import { DeployedContract } from "./vm-harness.js";

const wabt = await wabtInit();

/** Assembles a module. `features` enables proposals nearcore does not support, to test rejection. */
export function wat(source: string, features: Record<string, boolean> = {}): Uint8Array {
  const module = wabt.parseWat("contract.wat", source, features);
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** A contract from WAT, deployed in the in-memory harness under its own code hash. */
export function watContract(runtime: ContractRuntime, source: string, accountId = "wasm.test.near") {
  const code = wat(source);
  return new DeployedContract(runtime, code, accountId, createHash("sha256").update(code).digest("hex"));
}

/** `(import "env" name (func ...))` lines for NEAR host functions, all u64 parameters. */
export function imports(signatures: Record<string, [params: number, result: boolean]>): string {
  return Object.entries(signatures)
    .map(([name, [params, result]]) => {
      const p = params > 0 ? ` (param${" i64".repeat(params)})` : "";
      return `(import "env" "${name}" (func $${name}${p}${result ? " (result i64)" : ""}))`;
    })
    .join("\n");
}
