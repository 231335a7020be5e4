// Idempotent deployment of the token contract: every step first reads the chain, acts only when the
// chain differs from what is wanted, and prints what it did. Used by `npm start` (localnet) and by
// `npm run deploy` (testnet/mainnet), so both paths run the same code.
// The code is never on chain uninitialised: DeployContract and `new` go in ONE transaction signed by
// the contract account (the only account `new` accepts, T15). An upgrade of an initialised contract
// is DeployContract + `migrate` in one transaction: the state stays, and a failing migration rolls
// the code back with it.
import { createHash } from "node:crypto";
import bs58 from "bs58";
import { type Account, actions, type JsonRpcProvider, KeyPair, type KeyPairString } from "near-api-js";
import { AccountDoesNotExistError } from "near-api-js/rpc-errors";
import type { AssetSet } from "#web4/bundle";
import { chunkAssets } from "../web4-post.js";

export interface FtMetadata {
  spec: string;
  name: string;
  symbol: string;
  decimals: number;
  icon?: string;
}

export const DEFAULT_METADATA: FtMetadata = {
  spec: "ft-1.0.0",
  name: "AI Credits",
  symbol: "AIC",
  decimals: 6,
};

export interface TokenDeployment {
  provider: JsonRpcProvider;
  /** The contract account: signs the deploy; also the owner unless `owner` is given. */
  contract: Account;
  owner?: Account;
  /** What DeployContract carries: the WASM, or on localnet the near-sdk-js JS bundle. */
  code: Uint8Array;
  totalSupply: string;
  metadata?: FtMetadata;
  /** yoctoNEAR per token base unit for buy_tokens_for_near. */
  tokenPrice: string;
  /** 0x addresses allowed to sign refunds. */
  refundSigners: string[];
  web4Config: { proxy_url: string; network: string; rpc_url: string };
  bundle?: AssetSet;
  log?: (line: string) => void;
}

interface ContractConfig {
  owner_id: string;
  deployment?: string;
  token_price: string;
  refund_signers: string[];
  web4: Partial<TokenDeployment["web4Config"]>;
}

const GAS = 300_000_000_000_000n;

/** NEAR's code hash: base58(sha256(code)). */
export function codeHash(code: Uint8Array): string {
  return bs58.encode(createHash("sha256").update(code).digest());
}

async function step(log: (line: string) => void, name: string, run: () => Promise<string | undefined>) {
  const started = Date.now();
  const done = await run();
  log(done === undefined ? `  = ${name}: up to date` : `  + ${name}: ${done} (${Date.now() - started} ms)`);
}

async function readConfig(
  provider: JsonRpcProvider,
  contractId: string,
): Promise<ContractConfig | undefined> {
  try {
    return (await provider.callFunction({ contractId, method: "get_config", args: {} })) as ContractConfig;
  } catch {
    return undefined; // not deployed or not initialised yet
  }
}

export async function deployToken(d: TokenDeployment): Promise<void> {
  const log = d.log ?? console.log;
  const contractId = d.contract.accountId;
  const owner = d.owner ?? d.contract;
  const call = (methodName: string, args: Record<string, unknown>, deposit = 0n) =>
    owner.callFunction({ contractId, methodName, args, deposit, gas: GAS });

  await step(log, "contract code", async () => {
    const { code_hash } = await d.provider.viewAccount({ accountId: contractId });
    const wanted = codeHash(d.code);
    const size = `${(d.code.length / 1024).toFixed(1)} KB`;
    const current = await readConfig(d.provider, contractId);
    if (current) {
      if (current.owner_id !== owner.accountId)
        throw new Error(
          `${contractId} is already initialised with owner ${current.owner_id}, not ${owner.accountId}: ` +
            "pass that owner, or deploy to a fresh account if you did not initialise it yourself",
        );
      if (code_hash === wanted) return undefined;
      await d.contract.signAndSendTransaction({
        receiverId: contractId,
        actions: [actions.deployContract(d.code), actions.functionCall("migrate", {}, GAS, 0n)],
      });
      return `upgraded to ${size} (${wanted}) with migrate in the same transaction; state kept`;
    }
    const args = {
      owner_id: owner.accountId,
      total_supply: d.totalSupply,
      metadata: d.metadata ?? DEFAULT_METADATA,
    };
    await d.contract.signAndSendTransaction({
      receiverId: contractId,
      actions: [actions.deployContract(d.code), actions.functionCall("new", args, GAS, 0n)],
    });
    return `deployed ${size} (${wanted}) and new({owner_id: ${owner.accountId}, total_supply: ${d.totalSupply}}) in one transaction`;
  });

  const config = await readConfig(d.provider, contractId);
  if (!config) throw new Error(`${contractId} did not answer get_config after initialisation`);

  await step(log, "refund signers", async () => {
    const wanted = d.refundSigners.map((s) => s.toLowerCase());
    const current = config.refund_signers.map((s) => s.toLowerCase());
    if (wanted.length === current.length && wanted.every((s) => current.includes(s))) return undefined;
    await call("set_refund_signers", { signers: wanted });
    return wanted.join(", ");
  });

  await step(log, "token price", async () => {
    if (config.token_price === d.tokenPrice) return undefined;
    await call("set_token_price", { price: d.tokenPrice });
    return `${d.tokenPrice} yoctoNEAR per unit`;
  });

  await step(log, "web4 config", async () => {
    const same = Object.entries(d.web4Config).every(
      ([k, v]) => config.web4[k as keyof TokenDeployment["web4Config"]] === v,
    );
    if (same) return undefined;
    await call("set_web4_config", d.web4Config);
    return JSON.stringify(d.web4Config);
  });

  if (d.bundle) {
    const bundle = d.bundle;
    await step(log, "web4 bundle", async () => {
      if (await bundlePosted(d.provider, contractId, bundle)) return undefined;
      const chunks = chunkAssets(bundle, 200 * 1024);
      for (const [i, chunk] of chunks.entries()) {
        log(`    posting web4 chunk ${i + 1}/${chunks.length} (${Object.keys(chunk).join(", ")})`);
        await call("post_web4_bundle", i === 0 ? { assets: chunk, reset: true } : { assets: chunk });
      }
      return `${Object.keys(bundle).length} assets in ${chunks.length} transaction(s)`;
    });
  }
}

/** True when web4_get already serves every asset of `bundle` byte for byte. */
async function bundlePosted(
  provider: JsonRpcProvider,
  contractId: string,
  bundle: AssetSet,
): Promise<boolean> {
  for (const [path, asset] of Object.entries(bundle)) {
    const served = (await provider.callFunction({
      contractId,
      method: "web4_get",
      args: { request: { path } },
    })) as { body?: string; contentType?: string } | undefined;
    if (served?.body !== asset.body || served.contentType !== asset.contentType) return false;
  }
  return true;
}

/** Creates `accountId` as a sub-account of `parent` unless it exists; returns the key it holds. */
export async function ensureSubAccount(
  parent: Account,
  provider: JsonRpcProvider,
  accountId: string,
  amountYocto: bigint,
  existingKey: KeyPairString | undefined,
  log: (line: string) => void = console.log,
): Promise<KeyPairString> {
  let key = existingKey;
  await step(log, `account ${accountId}`, async () => {
    if (await accountExists(provider, accountId)) {
      if (!key)
        throw new Error(
          `${accountId} exists but no key for it was found: pass its key (--key-file or ~/.near-credentials), or on localnet delete the home dir to start over`,
        );
      return undefined;
    }
    const pair = KeyPair.fromRandom("ed25519");
    await parent.createAccount({
      newAccountId: accountId,
      publicKey: pair.getPublicKey(),
      nearToTransfer: amountYocto,
    });
    key = pair.toString() as KeyPairString;
    return `created with ${amountYocto / 10n ** 24n} NEAR`;
  });
  return key as KeyPairString;
}

async function accountExists(provider: JsonRpcProvider, accountId: string): Promise<boolean> {
  try {
    await provider.viewAccount({ accountId });
    return true;
  } catch (err) {
    if (err instanceof AccountDoesNotExistError) return false;
    throw err;
  }
}
