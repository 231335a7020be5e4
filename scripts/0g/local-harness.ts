// The local 0G Compute Network: Hardhat chain + real 0G contracts + one healthy provider, plus two
// deliberately broken ones (down; TEE signer never acknowledged) for failure tests.
// `npm run 0g -- local` runs it until Ctrl-C (runLocal0g); tests call startLocal0g() and close() it.
import { Contract, formatEther, HDNodeWallet, JsonRpcProvider, Mnemonic, Wallet } from "ethers";
import { HARDHAT_MNEMONIC, type LocalChain, startChain } from "./lib/chain.js";
import { InferenceServing } from "./lib/contracts.js";
import { deploy0gContracts, type ZgAddresses } from "./lib/deploy.js";
import { LocalProvider } from "./lib/provider.js";

export interface Local0gOptions {
  rpcPort?: number;
  providerPort?: number;
  model?: string;
  /** wei per prompt token / completion token; deliberately not round so rounding bugs show. */
  inputPrice?: bigint;
  outputPrice?: bigint;
}

export interface Local0g {
  rpcUrl: string;
  chainId: bigint;
  addresses: ZgAddresses;
  model: string;
  inputPrice: bigint;
  outputPrice: bigint;
  /** Hardhat account #0: deployed and owns the contracts. */
  owner: Wallet;
  /** The healthy provider. */
  provider: LocalProvider;
  /** Registered and acknowledged, but nothing listens at its URL. */
  downProvider: { address: string; url: string; model: string };
  /** Registered and reachable, but the contract owner never acknowledged its TEE signer. */
  unacknowledgedProvider: LocalProvider;
  rpc: JsonRpcProvider;
  chain: LocalChain;
  /** A fresh random wallet holding `amountWei` (from the owner). */
  newFundedWallet(amountWei: bigint): Promise<Wallet>;
  /** Advances chain time (e.g. past the inference lockTime so retrieved funds come back). */
  increaseTime(seconds: number): Promise<void>;
  close(): Promise<void>;
}

export function hardhatWallet(index: number, rpc?: JsonRpcProvider): Wallet {
  const node = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), `m/44'/60'/0'/0/${index}`);
  return new Wallet(node.privateKey, rpc);
}

/** A JSON-RPC provider tuned for an automining local chain (no request cache: nonces move fast). */
export function localRpc(url: string): JsonRpcProvider {
  return new JsonRpcProvider(url, undefined, { cacheTimeout: -1, pollingInterval: 50, staticNetwork: true });
}

export async function startLocal0g(opts: Local0gOptions = {}): Promise<Local0g> {
  const chain = await startChain({ port: opts.rpcPort });
  const rpc = localRpc(chain.rpcUrl);
  const cleanups: (() => Promise<void>)[] = [
    async () => {
      rpc.destroy();
      await chain.close();
    },
  ];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const owner = hardhatWallet(0, rpc);
    const addresses = await deploy0gContracts(owner);
    const model = opts.model ?? "local-echo-1";
    const inputPrice = opts.inputPrice ?? 1_234_567_891n;
    const outputPrice = opts.outputPrice ?? 2_345_678_913n;
    const prices = { inputPrice, outputPrice };
    const serving = new Contract(addresses.inference, InferenceServing.abi as never, owner);

    const provider = new LocalProvider({
      wallet: hardhatWallet(1, rpc),
      teeSigner: hardhatWallet(4, rpc),
      inferenceAddress: addresses.inference,
      model,
      port: opts.providerPort,
    });
    await provider.start();
    cleanups.push(() => provider.stop());
    await provider.register(prices);
    await (await serving.getFunction("acknowledgeTEESignerByOwner")(provider.address)).wait();

    // Down: start, register its URL, stop; the port is then closed (ECONNREFUSED).
    const down = new LocalProvider({
      wallet: hardhatWallet(2, rpc),
      teeSigner: hardhatWallet(5, rpc),
      inferenceAddress: addresses.inference,
      model: `${model}-down`,
    });
    await down.start();
    await down.register(prices);
    await down.stop();
    await (await serving.getFunction("acknowledgeTEESignerByOwner")(down.address)).wait();

    const unacked = new LocalProvider({
      wallet: hardhatWallet(3, rpc),
      teeSigner: hardhatWallet(6, rpc),
      inferenceAddress: addresses.inference,
      model: `${model}-unacknowledged`,
    });
    await unacked.start();
    cleanups.push(() => unacked.stop());
    await unacked.register(prices);

    return {
      rpcUrl: chain.rpcUrl,
      chainId: chain.chainId,
      addresses,
      model,
      inputPrice,
      outputPrice,
      owner,
      provider,
      downProvider: { address: down.address, url: down.url, model: `${model}-down` },
      unacknowledgedProvider: unacked,
      rpc,
      chain,
      async newFundedWallet(amountWei) {
        const w = Wallet.createRandom().connect(rpc);
        if (amountWei > 0n) await (await owner.sendTransaction({ to: w.address, value: amountWei })).wait();
        return new Wallet(w.privateKey, rpc);
      },
      async increaseTime(seconds) {
        await chain.request("evm_increaseTime", [seconds]);
        await chain.request("evm_mine", []);
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The harness in the foreground, printing what runs where and how to use it, until SIGINT/SIGTERM. */
export async function runLocal0g({ rpcPort, providerPort }: { rpcPort: number; providerPort: number }) {
  process.stdout.write(`Starting local 0G chain on 127.0.0.1:${rpcPort} …\n`);
  const zg = await startLocal0g({ rpcPort, providerPort });
  const operator = hardhatWallet(7);
  const lines = [
    "",
    "Local 0G Compute Network is up (Hardhat chain, real 0G contracts, one echo provider).",
    `  RPC URL           ${zg.rpcUrl}   (chain id ${zg.chainId})`,
    `  LedgerManager     ${zg.addresses.ledger}`,
    `  InferenceServing  ${zg.addresses.inference}`,
    `  FineTuningServing ${zg.addresses.fineTuning}`,
    `  provider          ${zg.provider.address}  model "${zg.model}"  at ${zg.provider.url}`,
    `  prices            input ${zg.inputPrice} wei/token, output ${zg.outputPrice} wei/token`,
    `  down provider     ${zg.downProvider.address}  (registered, nothing listening)`,
    `  unacked provider  ${zg.unacknowledgedProvider.address}  (TEE signer not acknowledged)`,
    "",
    "Hardhat's public test accounts (well-known keys, NEVER use them on a real network):",
    `  operator wallet   ${operator.address}  key ${operator.privateKey}`,
    `                    balance ${formatEther(await zg.rpc.getBalance(operator.address))} 0G`,
    "",
    "Try:",
    `  export ZG_PRIVATE_KEY=${operator.privateKey}`,
    "  npm run 0g -- deposit --network local --amount 10",
    `  npm run 0g -- acknowledge --network local --provider ${zg.provider.address}`,
    "  npm run 0g -- ledger --network local",
    "Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  // Settle what has been served every 10 s, like a real provider's settlement loop.
  const timer = setInterval(() => {
    zg.provider.settle().catch((e) => process.stderr.write(`settlement failed: ${(e as Error).message}\n`));
  }, 10_000);
  const stop = async () => {
    clearInterval(timer);
    await zg.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
