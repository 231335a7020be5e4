// `npm run deploy -- --network testnet --contract ai.you.testnet …`: deploys and configures the token
// contract on testnet or mainnet with the same idempotent steps `npm start` runs on localnet.
// Re-running it only does what the chain is missing.
import { existsSync, readFileSync } from "node:fs";
import { Command } from "commander";
import { getAddress } from "ethers";
import { Account, JsonRpcProvider, type KeyPairString, nearToYocto } from "near-api-js";
import { buildWeb4Bundle, describeBundle } from "#web4/bundle";
import { deployToken, ensureSubAccount } from "./lib/deploy.js";
import { DEFAULT_RPC, loadKey } from "./lib/near-credentials.js";

const program = new Command("deploy")
  .requiredOption("--network <network>", "testnet | mainnet")
  .requiredOption(
    "--contract <account>",
    "the token contract account (created as a sub-account of --parent if missing)",
  )
  .requiredOption("--proxy-url <url>", "public URL of your proxy, written into the app's config.json")
  .requiredOption(
    "--refund-signer <address...>",
    "0x address(es) of the proxy's refund key (npm run keys:refund-signer)",
  )
  .requiredOption(
    "--owner <account>",
    "owner and operator: receives the supply and spent tokens; not the contract itself",
  )
  .option("--parent <account>", "creates --contract under this account when it does not exist")
  .option("--initial-balance <near>", "NEAR sent to a newly created contract account", "10")
  .option("--wasm <path>", "contract WASM (npm run build:wasm)", "contracts/token/build/token.wasm")
  .option("--total-supply <units>", "initial supply in base units, minted to --owner", "1000000000000")
  .option("--price <yocto>", "yoctoNEAR per token base unit for buy_tokens_for_near", "1000000000000000000")
  .option("--rpc <url>", "NEAR RPC URL (defaults to the public one for --network)")
  .option("--key-file <path>", "key of --contract (default ~/.near-credentials/<network>/<contract>.json)")
  .option("--no-web4", "skip building and posting the web app");

async function main() {
  const opts = program.parse().opts();
  const network = String(opts.network);
  if (network !== "testnet" && network !== "mainnet") throw new Error("--network must be testnet or mainnet");
  const rpcUrl = opts.rpc ?? DEFAULT_RPC[network];
  const provider = new JsonRpcProvider({ url: rpcUrl });
  if (!existsSync(opts.wasm)) {
    throw new Error(
      `${opts.wasm} is missing: run \`npm run build:wasm\` (it says how to install near-sdk-js's toolchain)`,
    );
  }
  const signers = (opts.refundSigner as string[]).map((a) => getAddress(a));

  console.log(`[1/3] account ${opts.contract} on ${network}`);
  let contractKey: KeyPairString | undefined;
  try {
    contractKey = loadKey(network, opts.contract, opts.keyFile);
  } catch (err) {
    if (!opts.parent) throw err;
  }
  if (opts.parent) {
    const parent = new Account(opts.parent, provider, loadKey(network, opts.parent));
    contractKey = await ensureSubAccount(
      parent,
      provider,
      opts.contract,
      nearToYocto(opts.initialBalance as `${number}`),
      contractKey,
    );
    console.log(
      `  key of ${opts.contract}: save it to ~/.near-credentials/${network}/${opts.contract}.json if new`,
    );
  }
  const contract = new Account(opts.contract, provider, contractKey as KeyPairString);
  if (opts.owner === opts.contract)
    throw new Error("--owner must differ from --contract (the contract's own balance is the escrow)");
  const owner = new Account(opts.owner, provider, loadKey(network, opts.owner));

  let bundle: Awaited<ReturnType<typeof buildWeb4Bundle>> | undefined;
  if (opts.web4) {
    console.log("[2/3] building the web app");
    bundle = await buildWeb4Bundle({ network: network as "testnet" | "mainnet", quiet: true });
    console.log(describeBundle(bundle));
  }

  console.log("[3/3] contract");
  await deployToken({
    provider,
    contract,
    owner,
    code: readFileSync(opts.wasm),
    totalSupply: opts.totalSupply,
    tokenPrice: opts.price,
    refundSigners: signers,
    web4Config: { proxy_url: opts.proxyUrl, network, rpc_url: rpcUrl },
    bundle: bundle?.assets,
  });
  console.log(`done: https://${opts.contract}.page (web4) · proxy ${opts.proxyUrl}`);
}

main().catch((err) => {
  console.error(`deploy failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
