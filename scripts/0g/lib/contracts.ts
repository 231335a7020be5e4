// ABIs + bytecode of the real 0G serving contracts for the local harness's deployment: the ledger
// and inference factories come from the proxy's 0G chain module (the SDK's typechain factories),
// fine-tuning beside them, and OpenZeppelin's precompiled ERC1967Proxy (no solc download is possible here).
import { createRequire } from "node:module";
import { type ContractFactoryArtifact, InferenceServing, LedgerManager, sdkFactory } from "#proxy/0g-chain";

export { InferenceServing, LedgerManager };

export const FineTuningServing = sdkFactory(
  "fine-tuning/contract/typechain/factories/FineTuningServing__factory.js",
  "FineTuningServing__factory",
);

const proxyArtifact = createRequire(import.meta.url)(
  "@openzeppelin/contracts/build/contracts/ERC1967Proxy.json",
) as ContractFactoryArtifact;
export const ERC1967Proxy: ContractFactoryArtifact = {
  abi: proxyArtifact.abi,
  bytecode: proxyArtifact.bytecode,
};
