// Builds the web4 app with Vite and turns it into the asset set the contract stores and web4_get
// serves: { "/index.html": { contentType, body: base64 }, "/assets/…": … }.
//
// Contract storage is paid per byte (10^19 yoctoNEAR, 1 NEAR per 100 KB), and web4_get can only
// return bodies as stored, with no Content-Encoding. So each network gets its own build, with only
// its wallet (the dev wallet on localnet, NEAR Connect on testnet/mainnet) and no code splitting,
// and the one JS file (CSS included) is stored gzipped: a few lines inline in index.html fetch it,
// inflate it with the browser's DecompressionStream and run it. That is 3-4× less storage than the
// plain files (the NEAR Connect chunk alone would be ~73 KB stored).
//
//   npm run web4:bundle [-- --network localnet|testnet|mainnet] [--out web4/dist/bundle.json]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
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
  /** The app's bytes before compression (index.html + JS). */
  rawBytes: number;
  /** Bytes the contract stores: path + content type + base64 body per asset (keys/overhead excluded). */
  storedBytes: number;
  /** storedBytes × 10^19 yoctoNEAR (NEAR's storage price per byte). */
  storageYocto: bigint;
  outFile: string;
}

const web4Dir = fileURLToPath(new URL(".", import.meta.url));
export const STORAGE_YOCTO_PER_BYTE = 10n ** 19n;
export const SIZE_TARGET_BYTES = 150 * 1024;
export const GZIP_CONTENT_TYPE = "application/gzip";

/** Which wallet a network's build carries (wallet/index.ts reads it as the __WALLET__ constant). */
export const walletOf = (network: BundleNetwork) => (network === "localnet" ? "dev" : "connector");

/** The inline loader that replaces Vite's <script src>: fetch, gunzip, run as a module. */
export function loaderScript(path: string): string {
  return `<script type="module">
try{const r=await fetch(${JSON.stringify(path)});if(!r.ok)throw Error("HTTP "+r.status);const s=document.createElement("script");s.type="module";s.textContent=await new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).text();document.body.append(s)}catch(e){document.body.prepend(Object.assign(document.createElement("p"),{textContent:"The app could not load ("+e.message+"). A current browser is needed.",style:"padding:1rem;color:#c0392b"}))}
</script>`;
}

export async function buildWeb4Bundle(
  options: { network?: BundleNetwork; outFile?: string; quiet?: boolean } = {},
): Promise<BundleResult> {
  const network = options.network ?? "localnet";
  // A directory per build: tests and npm start may build at the same time.
  const outDir = mkdtempSync(join(tmpdir(), `web4-${network}-`));
  try {
    await build({
      configFile: join(web4Dir, "vite.config.ts"),
      logLevel: options.quiet ? "silent" : "warn",
      define: { __WALLET__: JSON.stringify(walletOf(network)) },
      build: { outDir, rolldownOptions: { output: { codeSplitting: false } } },
    });
    const html = readFileSync(join(outDir, "index.html"), "utf8");
    const scripts = [
      ...html.matchAll(/<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"><\/script>/g),
    ];
    const files = readdirSync(join(outDir, "assets"));
    if (scripts.length !== 1 || files.length !== 1) {
      throw new Error(
        `expected one script and one asset from vite, got ${scripts.length} and ${files.join(", ")}`,
      );
    }
    const jsPath = scripts[0]![1]!;
    const js = readFileSync(join(outDir, jsPath));
    const gzPath = `${jsPath}.gz`;
    // Comments and indentation are for readers of web4/index.html, not worth storing.
    const page = html
      .replace(scripts[0]![0], loaderScript(gzPath))
      .replace(/<!--[\s\S]*?-->/g, "")
      .replace(/\n\s+/g, "\n");
    const assets: AssetSet = {
      "/index.html": { contentType: "text/html; charset=utf-8", body: Buffer.from(page).toString("base64") },
      [gzPath]: { contentType: GZIP_CONTENT_TYPE, body: gzipSync(js, { level: 9 }).toString("base64") },
    };
    let storedBytes = 0;
    for (const [path, a] of Object.entries(assets))
      storedBytes += path.length + a.contentType.length + a.body.length;
    const outFile = resolve(options.outFile ?? join(web4Dir, "dist", "bundle.json"));
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify(assets));
    return {
      network,
      assets,
      rawBytes: Buffer.byteLength(page) + js.length,
      storedBytes,
      storageYocto: BigInt(storedBytes) * STORAGE_YOCTO_PER_BYTE,
      outFile,
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** The app's JavaScript from an asset set, inflated (for tests and checks). */
export function appScript(assets: AssetSet): string {
  const gz = Object.entries(assets).find(([, a]) => a.contentType === GZIP_CONTENT_TYPE);
  if (!gz) throw new Error("no gzipped script in the bundle");
  return gunzipSync(Buffer.from(gz[1].body, "base64")).toString("utf8");
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
    `web4 bundle (${r.network}, ${walletOf(r.network)} wallet) → ${r.outFile}`,
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
