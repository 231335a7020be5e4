// ABIs + bytecode of the real 0G serving contracts, taken from the SDK's typechain factories (the
// package's `exports` hide them, so they are required by file path), and OpenZeppelin's
// precompiled ERC1967Proxy (no solc download is possible here).
import { createRequire } from "node:module";
import path from "node:path";
import type { InterfaceAbi } from "ethers";

const require = createRequire(import.meta.url);

interface Factory {
  abi: InterfaceAbi;
  bytecode: string;
}

function sdkDir(): string {
  // Resolve through the shim we depend on, so we get the SDK version it pins.
  const shim = require.resolve("@0glabs/0g-serving-broker");
  const sdkRequire = createRequire(shim);
  return path.dirname(sdkRequire.resolve("@0gfoundation/0g-compute-ts-sdk"));
}

function factory(rel: string, name: string): Factory {
  const mod = require(path.join(sdkDir(), rel)) as Record<string, Factory>;
  const f = mod[name];
  if (!f?.abi || !f.bytecode) throw new Error(`0G SDK factory ${name} not found at ${rel}`);
  return { abi: f.abi, bytecode: f.bytecode };
}

export const LedgerManager = factory(
  "ledger/contract/typechain/factories/LedgerManager__factory.js",
  "LedgerManager__factory",
);
export const InferenceServing = factory(
  "inference/contract/typechain/factories/InferenceServing__factory.js",
  "InferenceServing__factory",
);
export const FineTuningServing = factory(
  "fine-tuning/contract/typechain/factories/FineTuningServing__factory.js",
  "FineTuningServing__factory",
);

const proxyArtifact = require("@openzeppelin/contracts/build/contracts/ERC1967Proxy.json") as Factory;
export const ERC1967Proxy: Factory = { abi: proxyArtifact.abi, bytecode: proxyArtifact.bytecode };

/** The LedgerManager names a serving contract `${serviceType}-${version}`; the SDK reads it back. */
export const INFERENCE_SERVICE_NAME = "inference-v1.0";
