// ABIs of the 0G LedgerManager and InferenceServing contracts, from the SDK's typechain factories
// (the package's `exports` map hides them, so they are required by file path). The adapter calls
// the contracts directly wherever an amount is involved: the SDK's ledger helpers take JS numbers
// and round; the contracts take exact bigint wei.
import { createRequire } from "node:module";
import path from "node:path";
import type { InterfaceAbi } from "ethers";

const require = createRequire(import.meta.url);

function sdkFile(rel: string): Record<string, { abi: InterfaceAbi }> {
  const shim = require.resolve("@0glabs/0g-serving-broker");
  const sdkRoot = path.dirname(createRequire(shim).resolve("@0gfoundation/0g-compute-ts-sdk"));
  return require(path.join(sdkRoot, rel)) as Record<string, { abi: InterfaceAbi }>;
}

export const LEDGER_ABI = sdkFile("ledger/contract/typechain/factories/LedgerManager__factory.js")
  .LedgerManager__factory?.abi as InterfaceAbi;
export const INFERENCE_ABI = sdkFile("inference/contract/typechain/factories/InferenceServing__factory.js")
  .InferenceServing__factory?.abi as InterfaceAbi;
