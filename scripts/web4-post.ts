// Posts the web4 bundle to the token contract with post_web4_bundle, in chunks that fit a
// transaction. Protocol (contracts/token/src/web4.ts): post_web4_bundle({assets, reset?}) merges
// assets by path; the first call sends reset: true; an asset larger than a chunk is split into base64
// pieces whose lengths are multiples of 4, every piece after the first marked `append: true`.
//
//   npm run web4:post -- --network localnet|testnet|mainnet --contract <id> [--account <owner>]
//     [--rpc <url>] [--key-file <path>] [--bundle web4/dist/bundle.json] [--chunk-kb 200] [--deposit <NEAR>]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Account, JsonRpcProvider } from "near-api-js";
import { NEAR_DECIMALS, parseAmount } from "#web4/amount";
import { type AssetSet, type BundleNetwork, buildWeb4Bundle, describeBundle } from "#web4/bundle";
import { DEFAULT_RPC, loadKey } from "./lib/near-credentials.js";

export interface ChunkAsset {
  contentType: string;
  body: string;
  append?: true;
}
export type Chunk = Record<string, ChunkAsset>;

/** Splits an asset set into post_web4_bundle argument objects of at most ~chunkBytes of body each. */
export function chunkAssets(assets: AssetSet, chunkBytes: number): Chunk[] {
  const limit = Math.max(4, chunkBytes - (chunkBytes % 4)); // whole base64 quanta per piece
  const chunks: Chunk[] = [];
  let current: Chunk = {};
  let size = 0;
  const flush = () => {
    if (Object.keys(current).length) chunks.push(current);
    current = {};
    size = 0;
  };
  // Smallest first so small assets share chunks; index.html order does not matter to the contract.
  const entries = Object.entries(assets).sort((a, b) => a[1].body.length - b[1].body.length);
  for (const [path, { contentType, body }] of entries) {
    for (let offset = 0; offset === 0 || offset < body.length; offset += limit) {
      const piece = body.slice(offset, offset + limit);
      if (size + piece.length > limit) flush();
      current[path] =
        offset === 0 ? { contentType, body: piece } : { contentType, body: piece, append: true };
      size += piece.length + path.length + contentType.length;
      // An appended piece must not share a chunk with its predecessor (same key); flush after each.
      if (body.length > limit) flush();
    }
  }
  flush();
  return chunks;
}

async function main() {
  const { values } = parseArgs({
    options: {
      network: { type: "string", default: "localnet" },
      contract: { type: "string" },
      account: { type: "string" },
      rpc: { type: "string" },
      "key-file": { type: "string" },
      bundle: { type: "string" },
      "chunk-kb": { type: "string", default: "200" },
      deposit: { type: "string", default: "0" },
      "no-reset": { type: "boolean", default: false },
    },
  });
  const network = values.network as BundleNetwork;
  if (!(network in DEFAULT_RPC)) throw new Error(`--network must be localnet, testnet or mainnet`);
  const contractId = values.contract;
  if (!contractId) throw new Error("--contract <id> is required");
  const owner = values.account ?? contractId;

  let assets: AssetSet;
  if (values.bundle) {
    assets = JSON.parse(readFileSync(values.bundle, "utf8")) as AssetSet;
  } else {
    // Always rebuild for the target network: each network's bundle carries only its own wallet.
    const result = await buildWeb4Bundle({ network });
    console.log(describeBundle(result));
    assets = result.assets;
  }

  const chunks = chunkAssets(assets, Number(values["chunk-kb"]) * 1024);
  const provider = new JsonRpcProvider({ url: values.rpc ?? DEFAULT_RPC[network] });
  const account = new Account(owner, provider, loadKey(network, owner, values["key-file"]));
  const deposit = parseAmount(values.deposit ?? "0", NEAR_DECIMALS);
  console.log(
    `posting ${Object.keys(assets).length} assets to ${contractId} as ${owner} in ${chunks.length} transaction(s)`,
  );
  for (const [i, chunk] of chunks.entries()) {
    const bytes = JSON.stringify(chunk).length;
    const reset = i === 0 && !values["no-reset"];
    process.stdout.write(
      `  [${i + 1}/${chunks.length}] ${(bytes / 1024).toFixed(1)} KB ${Object.keys(chunk).join(", ")} … `,
    );
    const started = Date.now();
    await account.callFunction({
      contractId,
      methodName: "post_web4_bundle",
      args: reset ? { assets: chunk, reset: true } : { assets: chunk },
      // Only the first transaction carries the optional storage top-up.
      deposit: i === 0 ? deposit : 0n,
      gas: 300_000_000_000_000n,
    });
    console.log(`ok (${Date.now() - started} ms)`);
  }
  console.log(`done: ${values.rpc ?? DEFAULT_RPC[network]} → ${contractId} web4 updated`);
}

if (process.argv[1]?.endsWith("web4-post.ts")) {
  main().catch((e) => {
    console.error(`web4:post failed: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
