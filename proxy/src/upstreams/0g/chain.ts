// What the proxy's 0G adapter and the `npm run 0g` scripts know about the 0G chain, in one place:
// the networks (RPC URLs, chain ids, the SDK's contract addresses), the contracts' ABIs, the
// ledger's minimums, the reads both make (ledger, sub-account, services, the provider serving a
// model) and the decoding of the contracts' custom errors. Plain ethers on the contracts, no
// broker: every amount here is exact bigint wei (the SDK's ledger helpers take JS numbers and round).
import { createRequire } from "node:module";
import path from "node:path";
import { CONTRACT_ADDRESSES } from "@0glabs/0g-serving-broker";
import { type Contract, Interface, type InterfaceAbi } from "ethers";

export type ZeroGNetwork = "testnet" | "mainnet" | "local";
export const ZEROG_NETWORKS: readonly ZeroGNetwork[] = ["local", "testnet", "mainnet"];

export interface ZeroGNetworkInfo {
  name: ZeroGNetwork;
  /** The RPC the SDK's own CLI uses. */
  rpcUrl: string;
  chainId: bigint;
  ledger: string;
  inference: string;
  fineTuning: string;
}

/** `local` is the Hardhat harness (scripts/0g/local-harness.ts), which deploys to the SDK's "hardhat" addresses. */
export const NETWORKS: Record<ZeroGNetwork, ZeroGNetworkInfo> = {
  local: { name: "local", rpcUrl: "http://127.0.0.1:8545", chainId: 31337n, ...CONTRACT_ADDRESSES.hardhat },
  testnet: {
    name: "testnet",
    rpcUrl: "https://evmrpc-testnet.0g.ai",
    chainId: 16602n,
    ...CONTRACT_ADDRESSES.testnet,
  },
  mainnet: {
    name: "mainnet",
    rpcUrl: "https://evmrpc.0g.ai",
    chainId: 16661n,
    ...CONTRACT_ADDRESSES.mainnet,
  },
};

export const isZeroGNetwork = (v: unknown): v is ZeroGNetwork => ZEROG_NETWORKS.includes(v as ZeroGNetwork);

const ONE_0G = 10n ** 18n;
/** LedgerManager.MIN_ACCOUNT_BALANCE: the first deposit (which creates the ledger) is at least 3 0G. */
export const MIN_LEDGER_BALANCE = 3n * ONE_0G;
/** LedgerManager.MIN_TRANSFER_AMOUNT: a new provider sub-account is created with at least 1 0G. */
export const MIN_TRANSFER = ONE_0G;
/** The provider broker's rule: each request needs 1 0G locked in the sub-account beyond the unsettled fees. */
export const MIN_LOCKED = ONE_0G;
/** The LedgerManager names a serving contract `${serviceType}-${version}`. */
export const INFERENCE_SERVICE_NAME = "inference-v1.0";

// ------------------------------------------------------------------------------ contracts

const require = createRequire(import.meta.url);

export interface ContractFactoryArtifact {
  abi: InterfaceAbi;
  bytecode: string;
}

/**
 * A typechain factory of the SDK (the package's `exports` hide them, so they are required by file
 * path), resolved through the shim we depend on so it is the SDK version the shim pins.
 */
export function sdkFactory(rel: string, name: string): ContractFactoryArtifact {
  const shim = require.resolve("@0glabs/0g-serving-broker");
  const sdkRoot = path.dirname(createRequire(shim).resolve("@0gfoundation/0g-compute-ts-sdk"));
  const f = (require(path.join(sdkRoot, rel)) as Record<string, ContractFactoryArtifact>)[name];
  if (!f?.abi || !f.bytecode) throw new Error(`0G SDK factory ${name} not found at ${rel}`);
  return { abi: f.abi, bytecode: f.bytecode };
}

export const LedgerManager = sdkFactory(
  "ledger/contract/typechain/factories/LedgerManager__factory.js",
  "LedgerManager__factory",
);
export const InferenceServing = sdkFactory(
  "inference/contract/typechain/factories/InferenceServing__factory.js",
  "InferenceServing__factory",
);

// ------------------------------------------------------------------------------ reads

export interface LedgerView {
  exists: boolean;
  total: bigint;
  available: bigint;
}

/** A wallet's ledger; `exists: false` (zeros) when it has none yet. */
export async function readLedger(ledger: Contract, owner: string): Promise<LedgerView> {
  try {
    const l = await ledger.getFunction("getLedger")(owner);
    return { exists: true, total: l.totalBalance as bigint, available: l.availableBalance as bigint };
  } catch (e) {
    if (revertName(e) === "LedgerNotExists") return { exists: false, total: 0n, available: 0n };
    throw e;
  }
}

export interface SubAccountView {
  exists: boolean;
  balance: bigint;
  pendingRefund: bigint;
  /** What the provider counts as locked for requests: balance − pending refund. */
  locked: bigint;
  acknowledged: boolean;
}

/** A (user, provider) inference sub-account; zeros when it does not exist. */
export async function readSubAccount(
  inference: Contract,
  user: string,
  provider: string,
): Promise<SubAccountView> {
  const exists: boolean = await inference.getFunction("accountExists")(user, provider);
  if (!exists) return { exists, balance: 0n, pendingRefund: 0n, locked: 0n, acknowledged: false };
  const a = await inference.getFunction("getAccount")(user, provider);
  const balance = a.balance as bigint;
  const pendingRefund = a.pendingRefund as bigint;
  return { exists, balance, pendingRefund, locked: balance - pendingRefund, acknowledged: a.acknowledged };
}

/** An inference service as registered on chain (prices in wei per token). */
export interface Service {
  provider: string;
  model: string;
  url: string;
  serviceType: string;
  inputPrice: bigint;
  outputPrice: bigint;
  teeSignerAddress: string;
  teeSignerAcknowledged: boolean;
}

function toService(s: Service): Service {
  return {
    provider: s.provider,
    model: s.model,
    url: s.url,
    serviceType: s.serviceType,
    inputPrice: BigInt(s.inputPrice),
    outputPrice: BigInt(s.outputPrice),
    teeSignerAddress: s.teeSignerAddress,
    teeSignerAcknowledged: s.teeSignerAcknowledged,
  };
}

/** Every inference service, acknowledged or not (getAllServices, 50 a page). */
export async function listServices(inference: Contract): Promise<Service[]> {
  const out: Service[] = [];
  for (let offset = 0; ; offset += 50) {
    const [services, total] = await inference.getFunction("getAllServices")(offset, 50);
    out.push(...(services as Service[]).map(toService));
    if (offset + 50 >= Number(total)) return out;
  }
}

/** One provider's service, undefined when it has none. */
export async function readService(inference: Contract, provider: string): Promise<Service | undefined> {
  if (!(await inference.getFunction("serviceExists")(provider))) return undefined;
  return toService((await inference.getFunction("getService")(provider)) as Service);
}

/**
 * The provider serving `model`: the first whose TEE signer the contract owner acknowledged, else the
 * first at all (the caller refuses it); undefined when none serves it.
 */
export function providerFor(services: readonly Service[], model: string): Service | undefined {
  const matches = services.filter((s) => s.model === model);
  return matches.find((s) => s.teeSignerAcknowledged) ?? matches[0];
}

/** The inference service's name in the ledger (testnet and mainnet name their versions themselves). */
export async function inferenceServiceName(ledger: Contract, inferenceAddress: string): Promise<string> {
  const info = await ledger.getFunction("getServiceInfo")(inferenceAddress);
  return (info.fullName as string) || INFERENCE_SERVICE_NAME;
}

// ------------------------------------------------------------------------------ errors

const errorInterfaces = [new Interface(LedgerManager.abi), new Interface(InferenceServing.abi)];

/**
 * The contract's custom error, decoded. ethers decodes it when the node returns the revert data as a
 * hex string; Hardhat's JSON-RPC server (and some RPCs) nest it (`error.data.data`), which ethers
 * cannot name, so that form is decoded here against both contracts' ABIs.
 */
export function decodeRevert(e: unknown): { name: string; args: unknown[] } | undefined {
  const err = e as {
    revert?: { name: string; args: unknown[] };
    data?: unknown;
    info?: { error?: { data?: unknown } };
  };
  if (err?.revert?.name) return { name: err.revert.name, args: [...err.revert.args] };
  const nested = err?.info?.error?.data;
  const candidates = [err?.data, nested, (nested as { data?: unknown } | undefined)?.data];
  for (const data of candidates) {
    if (typeof data !== "string" || !data.startsWith("0x") || data.length < 10) continue;
    for (const iface of errorInterfaces) {
      try {
        const parsed = iface.parseError(data);
        if (parsed) return { name: parsed.name, args: [...parsed.args] };
      } catch {}
    }
  }
  return undefined;
}

export function revertName(e: unknown): string | undefined {
  return decodeRevert(e)?.name;
}
