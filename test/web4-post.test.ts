// web4:post's chunking: every chunk fits, appended pieces are whole base64 quanta, and replaying the
// chunks the way the contract merges them (contracts/token/src/web4.ts) rebuilds the bundle exactly.
import { randomBytes } from "node:crypto";
import test from "ava";
import { type Chunk, chunkAssets } from "#internal/scripts/web4-post";
import type { AssetSet } from "#web4/bundle";

function replay(chunks: Chunk[]): AssetSet {
  const stored: AssetSet = {};
  for (const chunk of chunks) {
    for (const [path, a] of Object.entries(chunk)) {
      if (a.append) {
        const prev = stored[path];
        if (!prev || prev.body.length % 4 !== 0 || prev.body.endsWith("="))
          throw new Error(`bad append ${path}`);
        stored[path] = { contentType: a.contentType, body: prev.body + a.body };
      } else stored[path] = { contentType: a.contentType, body: a.body };
    }
  }
  return stored;
}

const asset = (n: number, type = "application/javascript") => ({
  contentType: type,
  body: randomBytes(n).toString("base64"),
});

test("small bundles go in one transaction", (t) => {
  const assets = {
    "/index.html": asset(5000, "text/html"),
    "/assets/a.js": asset(30000),
    "/assets/a.css": asset(4000),
  };
  const chunks = chunkAssets(assets, 200 * 1024);
  t.is(chunks.length, 1);
  t.deepEqual(replay(chunks), assets);
});

test("large assets are split into appended base64 pieces that rebuild exactly", (t) => {
  const assets = {
    "/index.html": asset(5000, "text/html"),
    "/assets/selector.js": asset(650_000),
    "/assets/b.js": asset(150_001),
  };
  const limit = 200 * 1024;
  const chunks = chunkAssets(assets, limit);
  t.true(chunks.length >= 5);
  for (const chunk of chunks) {
    const body = Object.values(chunk).reduce((n, a) => n + a.body.length, 0);
    t.true(body <= limit, `chunk body ${body} > ${limit}`);
    t.true(JSON.stringify({ assets: chunk }).length < 1024 * 1024, "fits a transaction's args");
  }
  t.deepEqual(replay(chunks), assets);
});
