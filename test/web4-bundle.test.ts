// The web4 bundle builds, stays within its storage budget on every network, and carries only the
// wallet its network uses; the stored script is the gzipped app that index.html's loader inflates.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import {
  appScript,
  type BundleNetwork,
  buildWeb4Bundle,
  GZIP_CONTENT_TYPE,
  SIZE_TARGET_BYTES,
  STORAGE_YOCTO_PER_BYTE,
} from "#web4/bundle";

const dir = mkdtempSync(join(tmpdir(), "web4-bundle-"));
const networks: BundleNetwork[] = ["localnet", "testnet", "mainnet"];
// One after the other: builds are CPU-bound and the machine has two cores.
const built = (async () => {
  const out: Record<string, Awaited<ReturnType<typeof buildWeb4Bundle>>> = {};
  for (const network of networks) {
    out[network] = await buildWeb4Bundle({ network, outFile: join(dir, `${network}.json`), quiet: true });
  }
  return out;
})();

test("each bundle is index.html plus the gzipped app it loads, as path → {contentType, base64 body}", async (t) => {
  for (const network of networks) {
    const r = (await built)[network]!;
    const written = JSON.parse(readFileSync(join(dir, `${network}.json`), "utf8"));
    t.deepEqual(Object.keys(written).sort(), Object.keys(r.assets).sort());
    const html = Buffer.from(r.assets["/index.html"]!.body, "base64").toString("utf8");
    t.regex(r.assets["/index.html"]!.contentType, /^text\/html/);
    const refs = [...html.matchAll(/fetch\("(\/assets\/[^"]+\.js\.gz)"\)/g)].map((m) => m[1]!);
    t.is(refs.length, 1, `${network}: one loader`);
    t.is(r.assets[refs[0]!]?.contentType, GZIP_CONTENT_TYPE);
    t.notRegex(html, /<script[^>]+src=/, "no other script to fetch");
    t.notRegex(html, /<!--/, "comments are not stored");
    for (const [path, asset] of Object.entries(r.assets)) {
      t.regex(path, /^\/[\w./-]+$/);
      t.is(
        Buffer.from(asset.body, "base64").toString("base64"),
        asset.body,
        `${path} body is canonical base64`,
      );
    }
    // The inflated script is the whole app, styles included.
    const js = appScript(r.assets);
    t.true(js.includes("aiconv:v2:"), "the app");
    t.true(js.includes(".composer"), "its CSS");
  }
});

test("every network's bundle is within the 150 KB storage target and prices its storage", async (t) => {
  for (const network of networks) {
    const r = (await built)[network]!;
    t.log(`${network}: raw ${r.rawBytes} B, stored ${r.storedBytes} B, ${r.storageYocto} yocto`);
    t.true(
      r.storedBytes <= SIZE_TARGET_BYTES,
      `${network}: stored ${r.storedBytes} B > ${SIZE_TARGET_BYTES} B`,
    );
    t.is(r.storageYocto, BigInt(r.storedBytes) * STORAGE_YOCTO_PER_BYTE);
  }
});

test("each network's bundle carries only its own wallet", async (t) => {
  const localnet = appScript((await built)["localnet"]!.assets);
  const testnet = appScript((await built)["testnet"]!.assets);
  // tweetnacl (the dev wallet's signer) and the connector's IndexedDB name mark each wallet.
  t.true(localnet.includes("nacl"));
  t.false(localnet.includes("hot-connector"));
  t.true(testnet.includes("hot-connector"));
  t.false(testnet.includes("nacl"));
  t.false(testnet.includes("dev-accounts.json"), "no localnet dev-account loading off localnet");
});

test("bundle never ships source maps or dev-server code", async (t) => {
  for (const network of networks) {
    const r = (await built)[network]!;
    const texts = [
      Buffer.from(r.assets["/index.html"]!.body, "base64").toString("utf8"),
      appScript(r.assets),
    ];
    for (const text of texts) {
      t.false(text.includes("/@vite/client"));
      t.false(text.includes("sourceMappingURL"));
    }
  }
});
