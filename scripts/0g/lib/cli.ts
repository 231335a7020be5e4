// Shared plumbing for the `npm run 0g -- <command>` CLI: network selection, wallet loading, exact
// amount parsing, contract handles, progress output and errors that say what to do next. What the
// chain itself is (networks, ABIs, minimums, ledger reads, revert names) comes from the proxy's 0G
// chain module, so the scripts and the adapter cannot disagree about it.
//
// Amounts: every amount a human types is a decimal 0G string converted with ethers.parseEther
// (exact, 18 decimals) and sent as bigint straight to the contracts. The SDK's ledger helpers take
// JS numbers (`depositFund(amount: number)` → `toFixed(18)`), which silently round anything past
// ~15 significant digits, so the scripts never route amounts through them.
import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import {
  Contract,
  type ContractTransactionResponse,
  formatEther,
  isAddress,
  JsonRpcProvider,
  parseEther,
  Wallet,
} from "ethers";
import {
  decodeRevert,
  InferenceServing,
  inferenceServiceName,
  LedgerManager,
  type LedgerView,
  listServices,
  NETWORKS,
  providerFor,
  readLedger as readLedgerOf,
  ZEROG_NETWORKS,
  type ZeroGNetwork,
  type ZeroGNetworkInfo,
} from "#proxy/0g-chain";
import { CliError, run as runCli } from "../../lib/cli.js";

export { CliError };
export type NetworkName = ZeroGNetwork;

/** The network's RPC (--rpc, else env ZG_RPC_URL, else the SDK CLI's) and the SDK's contract addresses. */
export function networkConfig(name: NetworkName, rpcOverride?: string): ZeroGNetworkInfo {
  const net = NETWORKS[name];
  return { ...net, rpcUrl: rpcOverride ?? process.env.ZG_RPC_URL ?? net.rpcUrl };
}

/** Decimal 0G string → wei, exactly. Rejects negatives, >18 decimals, exponents and junk. */
export function parseAmount0g(value: string, what = "amount"): bigint {
  const v = value.trim();
  if (!/^\d+(\.\d+)?$/.test(v)) {
    throw new CliError(
      `${what} "${value}" is not a decimal 0G amount`,
      'write it like "10" or "0.000000000000000001"',
    );
  }
  const frac = v.split(".")[1] ?? "";
  if (frac.length > 18) throw new CliError(`${what} "${value}" has more than 18 decimals (1 wei = 1e-18 0G)`);
  const wei = parseEther(v);
  if (wei <= 0n) throw new CliError(`${what} must be greater than 0`);
  return wei;
}

export function fmt(wei: bigint): string {
  return `${formatEther(wei)} 0G (${wei} wei)`;
}

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("-n, --network <name>", ZEROG_NETWORKS.join(" | "))
        .choices(ZEROG_NETWORKS)
        .default(process.env.ZG_NETWORK ?? "testnet"),
    )
    .option("--rpc <url>", "override the RPC URL (env ZG_RPC_URL)")
    .option("--key-file <path>", "file holding the wallet's hex private key (default: env ZG_PRIVATE_KEY)");
}

export interface CommonOpts {
  network: NetworkName;
  rpc?: string;
  keyFile?: string;
}

export interface Ctx {
  net: ZeroGNetworkInfo;
  rpc: JsonRpcProvider;
  wallet: Wallet;
  ledger: Contract;
  inference: Contract;
  close(): void;
}

function loadKey(opts: CommonOpts): string {
  let key: string | undefined;
  if (opts.keyFile) {
    try {
      key = readFileSync(opts.keyFile, "utf8").trim();
    } catch (e) {
      throw new CliError(`cannot read key file ${opts.keyFile}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  } else {
    key = process.env.ZG_PRIVATE_KEY?.trim();
  }
  if (!key) {
    throw new CliError(
      "no wallet key",
      "set ZG_PRIVATE_KEY=0x… in the environment or pass --key-file <path>",
    );
  }
  const hex = key.startsWith("0x") ? key : `0x${key}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
    // Never echo the value: it may be a real key with a typo.
    throw new CliError(
      "the wallet key is not a 32-byte hex private key",
      "check ZG_PRIVATE_KEY / --key-file",
    );
  }
  return hex;
}

export async function connect(opts: CommonOpts, mode: { readOnly?: boolean } = {}): Promise<Ctx> {
  const net = networkConfig(opts.network, opts.rpc);
  const local = net.name === "local";
  const rpc = new JsonRpcProvider(net.rpcUrl, undefined, {
    staticNetwork: true,
    // On the automining local chain, cached nonces/balances go stale within one script.
    cacheTimeout: local ? -1 : 250,
    pollingInterval: local ? 50 : 1000,
  });
  let chainId: bigint;
  try {
    chainId = BigInt(await rpc.send("eth_chainId", []));
  } catch (e) {
    rpc.destroy();
    throw new CliError(
      `cannot reach the ${net.name} RPC at ${net.rpcUrl}: ${(e as Error).message.split("\n")[0]}`,
      local ? "start the local chain first: npm run 0g:local" : "check your connection or pass --rpc <url>",
    );
  }
  if (chainId !== net.chainId) {
    rpc.destroy();
    throw new CliError(
      `${net.rpcUrl} is chain ${chainId}, not ${net.name} (${net.chainId})`,
      "fix --network or --rpc",
    );
  }
  // Read-only commands work without a key: any address can read public state.
  const haveKey = Boolean(opts.keyFile || process.env.ZG_PRIVATE_KEY);
  const wallet =
    mode.readOnly && !haveKey
      ? new Wallet(Wallet.createRandom().privateKey, rpc)
      : new Wallet(loadKey(opts), rpc);
  return {
    net,
    rpc,
    wallet,
    ledger: new Contract(net.ledger, LedgerManager.abi, wallet),
    inference: new Contract(net.inference, InferenceServing.abi, wallet),
    close: () => rpc.destroy(),
  };
}

export function step(msg: string): void {
  process.stdout.write(`→ ${msg}\n`);
}

export function info(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

/** Sends one contract call, printing the tx hash as soon as it is known and the block once mined. */
export async function sendTx(
  label: string,
  send: () => Promise<ContractTransactionResponse>,
): Promise<string> {
  step(`${label}: sending…`);
  const tx = await send();
  info(`  tx ${tx.hash}`);
  const receipt = await tx.wait();
  if (receipt?.status !== 1) throw new CliError(`${label}: transaction ${tx.hash} reverted`);
  info(`  mined in block ${receipt.blockNumber} (gas used ${receipt.gasUsed})`);
  return tx.hash;
}

export function readLedger(ctx: Ctx): Promise<LedgerView> {
  return readLedgerOf(ctx.ledger, ctx.wallet.address);
}

export async function printBalances(ctx: Ctx, title = "Balances"): Promise<void> {
  const wallet = await ctx.rpc.getBalance(ctx.wallet.address);
  const l = await readLedger(ctx);
  info(`${title} for ${ctx.wallet.address} on ${ctx.net.name}:`);
  info(`  wallet            ${fmt(wallet)}`);
  if (!l.exists) {
    info("  ledger            none yet (the first deposit of at least 3 0G creates it)");
    return;
  }
  info(`  ledger total      ${fmt(l.total)}`);
  info(`  ledger available  ${fmt(l.available)}`);
  info(`  ledger locked     ${fmt(l.total - l.available)}  (in provider sub-accounts)`);
}

export async function resolveProvider(ctx: Ctx, providerOrModel: string): Promise<string> {
  if (isAddress(providerOrModel)) return providerOrModel;
  const service = providerFor(await listServices(ctx.inference), providerOrModel);
  if (!service) {
    throw new CliError(
      `no provider serves model "${providerOrModel}"`,
      "list them with npm run 0g:providers",
    );
  }
  return service.provider;
}

export function serviceName(ctx: Ctx): Promise<string> {
  return inferenceServiceName(ctx.ledger, ctx.net.inference);
}

/** Turns contract reverts and RPC failures into "what happened + what to do next". */
export function explain(e: unknown): CliError {
  if (e instanceof CliError) return e;
  const err = e as { code?: string; shortMessage?: string; message?: string };
  const revert = decodeRevert(e);
  const args = (revert?.args ?? []) as bigint[];
  switch (revert?.name) {
    case "LedgerNotExists":
      return new CliError(
        "this wallet has no 0G ledger yet",
        "create it with npm run 0g:deposit -- --amount 3 (3 0G minimum)",
      );
    case "MinimumDepositRequired":
      return new CliError(
        `amount below the contract minimum: ${fmt(args[0] ?? 0n)} < ${fmt(args[1] ?? 0n)}`,
        "a new ledger needs 3 0G, a new provider sub-account 1 0G, and a refund must leave 0 or ≥ 3 0G",
      );
    case "InsufficientAvailableBalance":
      return new CliError(
        `the ledger has only ${fmt(args[0] ?? 0n)} available, ${fmt(args[1] ?? 0n)} needed`,
        "deposit more (npm run 0g:deposit) or pull funds back from providers (npm run 0g:retrieve)",
      );
    case "InsufficientBalance":
      return new CliError(
        "the ledger's available balance is smaller than that",
        "check it with npm run 0g:ledger",
      );
    case "ServiceNotExist":
      return new CliError(
        "that provider has no inference service on chain",
        "list providers with npm run 0g:providers",
      );
  }
  if (err.code === "INSUFFICIENT_FUNDS") {
    return new CliError(
      "the wallet cannot pay for this transaction (value + gas)",
      "fund the wallet address with 0G (testnet faucet: https://faucet.0g.ai)",
    );
  }
  if (revert) return new CliError(`the contract rejected the call with ${revert.name}`);
  if (err.code === "CALL_EXCEPTION") {
    return new CliError(`the contract rejected the call: ${err.shortMessage ?? err.message}`);
  }
  const msg = (err.shortMessage ?? err.message ?? String(e)).split("\n")[0] ?? "";
  return new CliError(msg.length > 300 ? `${msg.slice(0, 300)}…` : msg);
}

/** Runs a command body; prints errors with a hint and exits non-zero. */
export const run = (body: () => Promise<void>): Promise<void> => runCli(body, explain);
