// Deploys LedgerManager, InferenceServing and FineTuningServing behind ERC1967 proxies, initialises
// them and registers both serving contracts with the ledger, like 0G's own deployment.
import { Contract, ContractFactory, type Signer } from "ethers";
import { ERC1967Proxy, FineTuningServing, InferenceServing, LedgerManager } from "./contracts.js";

export interface ZgAddresses {
  ledger: string;
  inference: string;
  fineTuning: string;
}

/**
 * The SDK's built-in "hardhat" addresses (CONTRACT_ADDRESSES.hardhat) are the proxies at nonces 2,
 * 6 and 12 of Hardhat account #0. We land on exactly those when deploying from a fresh account #0,
 * so `0g-compute-cli` and `createZGComputeNetworkBroker` auto-detect the local chain too; padding
 * nonces with 0-value self-transfers is cheaper than threading addresses through every tool.
 */
const TARGET_NONCE = { ledger: 2, inference: 6, fineTuning: 12 } as const;

async function padNonceTo(owner: Signer, target: number): Promise<void> {
  const me = await owner.getAddress();
  for (let n = await owner.getNonce("pending"); n < target; n++) {
    await (await owner.sendTransaction({ to: me, value: 0n })).wait();
  }
}

async function deploy(
  owner: Signer,
  art: { abi: unknown; bytecode: string },
  args: unknown[] = [],
): Promise<string> {
  const f = new ContractFactory(art.abi as never, art.bytecode, owner);
  const c = await f.deploy(...args);
  await c.waitForDeployment();
  return c.getAddress();
}

async function deployProxy(owner: Signer, impl: string, initData: string, nonce?: number): Promise<string> {
  if (nonce !== undefined) await padNonceTo(owner, nonce);
  return deploy(owner, ERC1967Proxy, [impl, initData]);
}

export async function deploy0gContracts(owner: Signer): Promise<ZgAddresses> {
  const ownerAddr = await owner.getAddress();
  // Only aim for the SDK's well-known addresses on a fresh deployer; otherwise deploy wherever.
  const fresh = (await owner.getNonce("pending")) === 0;
  const at = (k: keyof typeof TARGET_NONCE) => (fresh ? TARGET_NONCE[k] : undefined);

  const ledgerImpl = await deploy(owner, LedgerManager); // nonce 0
  const inferenceImpl = await deploy(owner, InferenceServing); // nonce 1
  const ledgerIface = new Contract(ledgerImpl, LedgerManager.abi as never).interface;
  const ledger = await deployProxy(
    owner,
    ledgerImpl,
    ledgerIface.encodeFunctionData("initialize", [ownerAddr]),
    at("ledger"),
  );
  const fineTuningImpl = await deploy(owner, FineTuningServing);

  // lockTime: the shortest the contract accepts (it bounds it to [MIN_LOCKTIME, MAX_LOCKTIME]).
  const infImpl = new Contract(inferenceImpl, InferenceServing.abi as never, owner);
  const lockTime: bigint = await infImpl.getFunction("MIN_LOCKTIME")();
  const inference = await deployProxy(
    owner,
    inferenceImpl,
    infImpl.interface.encodeFunctionData("initialize", [lockTime, ledger, ownerAddr]),
    at("inference"),
  );
  const ftImpl = new Contract(fineTuningImpl, FineTuningServing.abi as never, owner);
  const ftLock: bigint = await ftImpl.getFunction("MIN_LOCKTIME")();
  const fineTuning = await deployProxy(
    owner,
    fineTuningImpl,
    ftImpl.interface.encodeFunctionData("initialize", [ftLock, ledger, ownerAddr, 30n]),
    at("fineTuning"),
  );

  const ledgerC = new Contract(ledger, LedgerManager.abi as never, owner);
  await (
    await ledgerC.getFunction("registerService")("inference", "v1.0", inference, "Local inference")
  ).wait();
  await (
    await ledgerC.getFunction("registerService")("fine-tuning", "v1.0", fineTuning, "Local fine-tuning")
  ).wait();
  await (await ledgerC.getFunction("setRecommendedService")("inference", "v1.0")).wait();
  return { ledger, inference, fineTuning };
}
