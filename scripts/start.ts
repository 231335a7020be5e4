// `npm start`: the whole stack on localnet, offline. localnet (persisted in .localnet/home), the token
// contract deployed (its WASM, what a chain runs; `--js` or LOCALNET_CONTRACTS=js deploys the JS
// bundle, localnet's fast mode) and initialised, a refund signer registered, demo accounts funded, the web4 app
// posted and served, and the proxy on the local demo model. A second run reuses the state; every
// step says whether it acted. Ctrl-C stops everything.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Wallet } from "ethers";
import { Account, JsonRpcProvider, type KeyPairString, nearToYocto } from "near-api-js";
import { buildContract, buildContractWasm } from "#contracts/build";
import { startLocalnet } from "#localnet";
import { loadConfig, startProxy } from "#proxy";
import { buildWeb4Bundle, describeBundle } from "#web4/bundle";
import { deployToken, ensureSubAccount } from "./lib/deploy.js";

const root = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    home: { type: "string", default: process.env.LOCALNET_HOME ?? join(root, ".localnet", "home") },
    "rpc-port": { type: "string", default: process.env.LOCALNET_PORT ?? "3030" },
    "web4-port": { type: "string", default: process.env.WEB4_PORT ?? "3031" },
    "proxy-port": { type: "string", default: process.env.AIPROXY_PORT ?? "8787" },
    // Everything but the proxy: the app still expects it at --proxy-port (run `npm run proxy` there,
    // or see how the app behaves while the AI is down).
    "no-proxy": { type: "boolean", default: false },
    js: { type: "boolean", default: process.env.LOCALNET_CONTRACTS === "js" },
  },
});
const home = values.home as string;
const say = (line: string) => console.log(line);

/** Keys of the accounts start creates, kept beside the chain so a second run can sign again. */
class KeyStore {
  private readonly path = join(home, "start-keys.json");
  private readonly keys: Record<string, KeyPairString> = existsSync(this.path)
    ? JSON.parse(readFileSync(this.path, "utf8"))
    : {};
  get(accountId: string): KeyPairString | undefined {
    return this.keys[accountId];
  }
  set(accountId: string, key: KeyPairString): void {
    this.keys[accountId] = key;
    writeFileSync(this.path, JSON.stringify(this.keys, null, 2), { mode: 0o600 });
  }
}

function refundSignerKey(): string {
  const path = join(home, "refund-signer.key");
  if (!existsSync(path)) writeFileSync(path, `${Wallet.createRandom().privateKey}\n`, { mode: 0o600 });
  return path;
}

/**
 * Operator settlement on localnet: test.near (owner and operator) submits the refunds of idle
 * conversations with its own key, and a token for the operator API. Both kept beside the chain, 0600.
 */
function operatorFiles(validatorKey: string): { keyFile: string; tokenFile: string } {
  const keyFile = join(home, "operator-key.json");
  writeFileSync(keyFile, JSON.stringify({ account_id: "test.near", private_key: validatorKey }), {
    mode: 0o600,
  });
  const tokenFile = join(home, "operator-token");
  if (!existsSync(tokenFile))
    writeFileSync(tokenFile, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  return { keyFile, tokenFile };
}

async function main() {
  mkdirSync(home, { recursive: true });
  const contractId = "token.test.near";
  const demoIds = ["alice.test.near", "bob.test.near"];
  const rpcPort = Number(values["rpc-port"]);
  const web4Port = Number(values["web4-port"]);
  const proxyPort = Number(values["proxy-port"]);

  say(
    `[1/5] building the token contract (${values.js ? "JS bundle" : "WASM; the first build takes a few minutes"})`,
  );
  const source = join(root, "contracts", "token", "src", "index.ts");
  const built = values.js
    ? await buildContract(source)
    : await buildContractWasm(source, undefined, { log: (line) => say(`  ${line}`) });
  const codePath = values.js ? built.jsPath : built.wasmTarget;
  const code = readFileSync(codePath);
  say(`  = ${codePath.replace(`${root}/`, "")}: ${(code.length / 1024).toFixed(1)} KB`);

  say("[2/5] building the web4 app");
  const bundle = await buildWeb4Bundle({ network: "localnet", quiet: true });
  say(describeBundle(bundle).replace(/^/gm, "  "));

  say(`[3/5] starting localnet in ${home}`);
  const keys = new KeyStore();
  const devAccounts = () =>
    demoIds.map((id) => ({ account_id: id, secret_key: keys.get(id) })).filter((a) => a.secret_key);
  const node = await startLocalnet({
    home,
    port: rpcPort,
    web4Contract: contractId,
    web4Port,
    web4Files: { "/_localnet/dev-accounts.json": () => ({ dev_accounts: devAccounts() }) },
  });
  const provider = new JsonRpcProvider({ url: node.rpcUrl });
  const rootAccount = new Account("test.near", provider, node.validatorKey.secret_key as KeyPairString);

  say("[4/5] deploying");
  const ensure = async (id: string, near: `${number}`) => {
    const key = await ensureSubAccount(rootAccount, provider, id, nearToYocto(near), keys.get(id), say);
    keys.set(id, key);
    return new Account(id, provider, key);
  };
  const contract = await ensure(contractId, "50");
  const demo = await Promise.all(demoIds.map((id) => ensure(id, "100")));
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const signerKeyFile = refundSignerKey();
  const signerAddress = new Wallet(readFileSync(signerKeyFile, "utf8").trim()).address;
  // The owner (and so the operator, who receives spent tokens) must be another account than the
  // contract: the contract's own ft_balance_of is the open escrow.
  await deployToken({
    provider,
    contract,
    owner: rootAccount,
    code,
    totalSupply: "1000000000000", // 1,000,000 AIC at 6 decimals
    tokenPrice: "1000000000000000000", // 10^18 yoctoNEAR per base unit: 1 NEAR buys 1 AIC
    refundSigners: [signerAddress],
    web4Config: { proxy_url: proxyUrl, network: "localnet", rpc_url: node.rpcUrl },
    bundle: bundle.assets,
    log: say,
  });
  for (const account of demo) await fundDemoAccount(rootAccount, contractId, account);

  let proxy: Awaited<ReturnType<typeof startProxy>> | null = null;
  if (values["no-proxy"]) say(`[5/5] not starting the proxy (--no-proxy); the app expects it at ${proxyUrl}`);
  else
    proxy = await startLocalProxy(
      node.rpcUrl,
      contractId,
      proxyPort,
      signerKeyFile,
      operatorFiles(node.validatorKey.secret_key),
    );

  say("");
  say(`  web app     ${node.web4Url}`);
  say(
    proxy
      ? `  proxy       ${proxy.url}/v1  (OpenAI-compatible; API key = a conversation secret)`
      : `  proxy       not running (--no-proxy); expected at ${proxyUrl}/v1`,
  );
  if (proxy)
    say(
      `  settlement  idle conversations settle on chain after ${proxy.context.config.settle.idle_after / 3_600_000} h; curl -H "authorization: Bearer $(cat ${join(home, "operator-token")})" ${proxy.url}/v1/operator/summary`,
    );
  say(`  NEAR RPC    ${node.rpcUrl}`);
  say(`  contract    ${contractId}  (owner and operator test.near, refund signer ${signerAddress})`);
  say(
    `  accounts    ${demoIds.join(", ")}  (100 NEAR and 100 AIC each; keys in ${join(home, "start-keys.json")})`,
  );
  say("  Ctrl-C stops everything; the next `npm start` reuses this state.");

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say("\nstopping...");
    await proxy?.stop(2_000).catch(() => {});
    await node.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function startLocalProxy(
  rpcUrl: string,
  contractId: string,
  port: number,
  signerKeyFile: string,
  operator: { keyFile: string; tokenFile: string },
) {
  say("[5/5] starting the proxy (local demo model)");
  // AIPROXY_* environment variables still win over these, so any setting can be changed at start.
  const config = loadConfig({
    env: process.env,
    base: {
      port,
      chain: { type: "near", rpc_url: rpcUrl, contract_id: contractId },
      store: { path: join(home, "proxy-ledger.sqlite") },
      refund: { signer_key_file: signerKeyFile },
      settle: { operator_key_file: operator.keyFile },
      operator: { token_file: operator.tokenFile },
    },
  });
  return startProxy(config);
}

/** Registers a demo account with the token and gives it 100 AIC, once. */
async function fundDemoAccount(owner: Account, contractId: string, account: Account) {
  const provider = account.provider as JsonRpcProvider;
  const registered = await provider.callFunction({
    contractId,
    method: "storage_balance_of",
    args: { account_id: account.accountId },
  });
  if (registered) return say(`  = ${account.accountId}: registered and funded`);
  await account.callFunction({
    contractId,
    methodName: "storage_deposit",
    args: { account_id: account.accountId, registration_only: true },
    deposit: nearToYocto("0.1"),
  });
  await owner.callFunction({
    contractId,
    methodName: "ft_transfer",
    args: { receiver_id: account.accountId, amount: "100000000" },
    deposit: 1n,
  });
  say(`  + ${account.accountId}: registered, 100 AIC transferred`);
}

main().catch((err) => {
  console.error(`npm start failed: ${err instanceof Error ? err.message : err}`);
  console.error(
    "If a port is taken, set LOCALNET_PORT, WEB4_PORT or AIPROXY_PORT; to start over, delete .localnet/home.",
  );
  process.exit(1);
});
