// The web4 bundle builds, stays within its storage budget, and carries only the chunks its network uses.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { buildWeb4Bundle, SIZE_TARGET_BYTES, STORAGE_YOCTO_PER_BYTE, selectFiles } from "../web4/bundle.js";

const out = join(mkdtempSync(join(tmpdir(), "web4-bundle-")), "bundle.json");
const built = buildWeb4Bundle({ network: "localnet", outFile: out, quiet: true });

test("localnet bundle builds into a path → {contentType, base64 body} asset set", async (t) => {
  const r = await built;
  const written = JSON.parse(readFileSync(out, "utf8"));
  t.deepEqual(Object.keys(written).sort(), Object.keys(r.assets).sort());
  const index = r.assets["/index.html"];
  t.truthy(index);
  t.regex(index!.contentType, /^text\/html/);
  const html = Buffer.from(index!.body, "base64").toString("utf8");
  // Every script and stylesheet the page references is in the set, under the same path.
  const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  t.true(refs.length >= 2);
  for (const ref of refs) t.truthy(r.assets[ref], `missing ${ref}`);
  for (const [path, asset] of Object.entries(r.assets)) {
    t.regex(path, /^\/[\w./-]+$/);
    t.is(
      Buffer.from(asset.body, "base64").toString("base64"),
      asset.body,
      `${path} body is canonical base64`,
    );
  }
});

test("localnet bundle is within the 150 KB storage target and prices its storage", async (t) => {
  const r = await built;
  t.log(`raw ${r.rawBytes} B, stored ${r.storedBytes} B, ${r.storageYocto} yocto`);
  t.true(r.storedBytes <= SIZE_TARGET_BYTES, `stored ${r.storedBytes} B > ${SIZE_TARGET_BYTES} B`);
  t.is(r.storageYocto, BigInt(r.storedBytes) * STORAGE_YOCTO_PER_BYTE);
});

test("each network's bundle carries only its own wallet", async (t) => {
  const r = await built;
  const manifest = JSON.parse(readFileSync(join("web4", "dist", "app", ".vite", "manifest.json"), "utf8"));
  const dev = manifest["src/wallet/dev.ts"].file as string;
  const selector = manifest["src/wallet/selector.ts"].file as string;
  t.truthy(r.assets[`/${dev}`]);
  t.falsy(r.assets[`/${selector}`]);
  const testnet = selectFiles(manifest, "testnet");
  t.true(testnet.includes(selector));
  t.false(testnet.includes(dev));
  t.true(testnet.includes("index.html"));
});

test("bundle never ships source maps or dev-server code", async (t) => {
  const r = await built;
  for (const [path, asset] of Object.entries(r.assets)) {
    t.false(path.endsWith(".map"));
    const text = Buffer.from(asset.body, "base64").toString("utf8");
    t.false(text.includes("/@vite/client"), path);
    t.false(text.includes("sourceMappingURL"), path);
  }
});
