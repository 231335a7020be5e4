// `npm run withdraw-near -- --network testnet --contract ai.you.testnet --owner you.testnet [--amount <yocto>]`:
// the owner takes the NEAR that buy_tokens_for_near received out of the token contract
// (withdraw_near, 1 yoctoNEAR attached). Without --amount it withdraws everything
// get_withdrawable_near reports; the contract never lets go of its storage stake or of what NEP-145
// registrations may claim back.
import { Command } from "commander";
import { Account, JsonRpcProvider, type KeyPairString, yoctoToNear } from "near-api-js";
import { DEFAULT_RPC, loadKey } from "./lib/near-credentials.js";

/** withdraw_near's callback and its own work: the contract asks for at least 50 Tgas. */
const GAS = 100_000_000_000_000n;

export interface WithdrawNearOptions {
  rpcUrl: string;
  contractId: string;
  ownerId: string;
  ownerKey: KeyPairString;
  /** yoctoNEAR; omitted = everything withdrawable. */
  amount?: string;
  /** Defaults (in the contract) to the owner. */
  receiverId?: string;
}

export interface WithdrawNearResult {
  /** get_withdrawable_near before and after, yoctoNEAR. */
  before: string;
  after: string;
  /** What withdraw_near returned: the amount sent, "0" when the transfer failed (re-credited). */
  sent: string;
}

export async function withdrawNear(o: WithdrawNearOptions): Promise<WithdrawNearResult> {
  const provider = new JsonRpcProvider({ url: o.rpcUrl });
  const withdrawable = async () =>
    String(
      await provider.callFunction({ contractId: o.contractId, method: "get_withdrawable_near", args: {} }),
    );
  const before = await withdrawable();
  const owner = new Account(o.ownerId, provider, o.ownerKey);
  const args: Record<string, string> = {};
  if (o.amount !== undefined) args.amount = o.amount;
  if (o.receiverId !== undefined) args.receiver_id = o.receiverId;
  const sent = await owner.callFunction<string>({
    contractId: o.contractId,
    methodName: "withdraw_near",
    args,
    deposit: 1n,
    gas: GAS,
  });
  return { before, sent: String(sent), after: await withdrawable() };
}

const near = (yocto: string) => `${yoctoToNear(BigInt(yocto), 6)} NEAR (${yocto} yoctoNEAR)`;

async function main() {
  const opts = new Command("withdraw-near")
    .requiredOption("--network <network>", "localnet | testnet | mainnet")
    .requiredOption("--contract <account>", "the token contract")
    .requiredOption("--owner <account>", "the contract's owner (get_owner), who signs")
    .option("--amount <yocto>", "yoctoNEAR to withdraw (default: everything withdrawable)")
    .option("--receiver <account>", "who receives the NEAR (default: the owner)")
    .option("--rpc <url>", "NEAR RPC URL (defaults to the public one for --network)")
    .option("--key-file <path>", "key of --owner (default ~/.near-credentials/<network>/<owner>.json)")
    .parse()
    .opts();
  const network = String(opts.network);
  if (!(network in DEFAULT_RPC)) throw new Error("--network must be localnet, testnet or mainnet");
  if (opts.amount !== undefined && !/^[1-9][0-9]*$/.test(opts.amount)) {
    throw new Error("--amount is a positive whole number of yoctoNEAR (1 NEAR = 10^24)");
  }
  const rpcUrl = opts.rpc ?? DEFAULT_RPC[network as keyof typeof DEFAULT_RPC];
  const result = await withdrawNear({
    rpcUrl,
    contractId: opts.contract,
    ownerId: opts.owner,
    ownerKey: loadKey(network, opts.owner, opts.keyFile),
    amount: opts.amount,
    receiverId: opts.receiver,
  });
  console.log(`withdrawable before: ${near(result.before)}`);
  if (result.sent === "0") {
    throw new Error(
      `the transfer to ${opts.receiver ?? opts.owner} failed (does the account exist?); nothing was withdrawn`,
    );
  }
  console.log(`sent to ${opts.receiver ?? opts.owner}: ${near(result.sent)}`);
  console.log(`withdrawable now: ${near(result.after)}`);
}

if (process.argv[1]?.endsWith("withdraw-near.ts")) {
  main().catch((err) => {
    console.error(`withdraw-near failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
