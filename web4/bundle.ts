// Builds the web4 app with Vite and turns it into the asset set the contract stores and web4_get
// serves: { "/index.html": { contentType, body: base64 }, "/assets/…": … }. Only the chunks the target
// network can load are included (the dev wallet on localnet, wallet-selector on testnet/mainnet).
//
//   npm run web4:bundle [-- --network localnet|testnet|mainnet] [--out web4/dist/bundle.json]
import { readFileSync, writeFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

export type BundleNetwork = "localnet" | "testnet" | "mainnet";
export interface Web4Asset {
  contentType: string;
  body: string;
}
export type AssetSet = Record<string, Web4Asset>;
export interface BundleResult {
  network: BundleNetwork;
  assets: AssetSet;
  /** Raw (decoded) bytes of every asset. */
  rawBytes: number;
  /** Bytes the contract stores: path + content type + base64 body per asset (keys/overhead excluded). */
  storedBytes: number;
  /** storedBytes × 10^19 yoctoNEAR (NEAR's storage price per byte). */
  storageYocto: bigint;
  outFile: string;
}

const web4Dir = fileURLToPath(new URL(".", import.meta.url));
const appDir = join(web4Dir, "dist", "app");
export const STORAGE_YOCTO_PER_BYTE = 10n ** 19n;
export const SIZE_TARGET_BYTES = 150 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "application/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

interface ManifestChunk {
  file: string;
  css?: string[];
  assets?: string[];
  imports?: string[];
  dynamicImports?: string[];
}

/** Files reachable from index.html, not following dynamic imports of the other network's wallet. */
export function selectFiles(manifest: Record<string, ManifestChunk>, network: BundleNetwork): string[] {
  const excluded = network === "localnet" ? "src/wallet/selector.ts" : "src/wallet/dev.ts";
  const files = new Set<string>();
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key) || key === excluded) return;
    seen.add(key);
    const chunk = manifest[key];
    if (!chunk) throw new Error(`vite manifest has no entry ${key}`);
    files.add(chunk.file);
    for (const f of [...(chunk.css ?? []), ...(chunk.assets ?? [])]) files.add(f);
    for (const k of [...(chunk.imports ?? []), ...(chunk.dynamicImports ?? [])]) visit(k);
  };
  visit("index.html");
  files.add("index.html");
  return [...files].sort();
}

export async function buildWeb4Bundle(
  options: { network?: BundleNetwork; outFile?: string; quiet?: boolean } = {},
): Promise<BundleResult> {
  const network = options.network ?? "localnet";
  await build({ configFile: join(web4Dir, "vite.config.ts"), logLevel: options.quiet ? "silent" : "warn" });
  const manifest = JSON.parse(readFileSync(join(appDir, ".vite", "manifest.json"), "utf8"));
  const assets: AssetSet = {};
  let rawBytes = 0;
  let storedBytes = 0;
  for (const file of selectFiles(manifest, network)) {
    const bytes = readFileSync(join(appDir, file));
    const path = `/${file}`;
    const contentType = CONTENT_TYPES[extname(file)] ?? "application/octet-stream";
    const body = bytes.toString("base64");
    assets[path] = { contentType, body };
    rawBytes += bytes.length;
    storedBytes += path.length + contentType.length + body.length;
  }
  const outFile = resolve(options.outFile ?? join(web4Dir, "dist", "bundle.json"));
  writeFileSync(outFile, JSON.stringify(assets));
  return {
    network,
    assets,
    rawBytes,
    storedBytes,
    storageYocto: BigInt(storedBytes) * STORAGE_YOCTO_PER_BYTE,
    outFile,
  };
}

/** "1.234" NEAR from yocto, exact (BigInt), 3 decimals, truncated. */
export function yoctoToNearText(yocto: bigint): string {
  const whole = yocto / 10n ** 24n;
  const milli = (yocto % 10n ** 24n) / 10n ** 21n;
  return `${whole}.${milli.toString().padStart(3, "0")}`;
}

export function describeBundle(r: BundleResult): string {
  const lines = Object.entries(r.assets).map(
    ([path, a]) => `  ${path.padEnd(44)} ${String(a.body.length).padStart(8)} B base64  ${a.contentType}`,
  );
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const verdict = r.storedBytes <= SIZE_TARGET_BYTES ? "within" : "OVER";
  return [
    `web4 bundle (${r.network}) → ${r.outFile}`,
    ...lines,
    `  raw ${kb(r.rawBytes)}, stored ${kb(r.storedBytes)} (${verdict} the ${kb(SIZE_TARGET_BYTES)} target)`,
    `  storage cost ≈ ${yoctoToNearText(r.storageYocto)} NEAR at 10^19 yoctoNEAR/byte`,
  ].join("\n");
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const network = (arg("network") ?? "localnet") as BundleNetwork;
  if (!["localnet", "testnet", "mainnet"].includes(network)) throw new Error(`unknown --network ${network}`);
  const result = await buildWeb4Bundle({ network, outFile: arg("out") });
  console.log(describeBundle(result));
}
