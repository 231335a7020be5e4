// localnet's web4 gateway: GET requests become web4_get view calls, as on *.near.page.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from "near-api-js";
import { buildContract } from "#contracts/build";
import { startLocalnet } from "#localnet";
import { projectRoot } from "./helpers/localnet.js";

test("web4_get answers become HTTP responses", async (t) => {
  const outDir = join(projectRoot, "build", "localnet-fixtures");
  mkdirSync(outDir, { recursive: true });
  const { jsPath } = (await buildContract(
    join(projectRoot, "localnet", "fixtures", "web4-app.ts"),
    outDir,
  )) as {
    jsPath: string;
  };
  const node = await startLocalnet({ web4Contract: "app.test.near", web4Port: 0 });
  t.teardown(() => node.close());
  const provider = new JsonRpcProvider({ url: node.rpcUrl });
  const root = new Account("test.near", provider, node.validatorKey.secret_key as `ed25519:${string}`);
  const key = KeyPair.fromRandom("ed25519");
  await root.createSubAccount({
    accountOrPrefix: "app",
    publicKey: key.getPublicKey(),
    nearToTransfer: nearToYocto("20"),
  });
  await new Account("app.test.near", provider, key.toString() as `ed25519:${string}`).deployContract(
    readFileSync(jsPath),
  );

  const base = node.web4Url as string;
  const home = await fetch(base);
  t.is(home.status, 200);
  t.is(home.headers.get("content-type"), "text/html; charset=UTF-8");
  t.is(await home.text(), "<h1>hello web4</h1>");

  const echo = await fetch(new URL("/echo?a=1&a=2&b=x", base));
  t.deepEqual(await echo.json(), { a: ["1", "2"], b: ["x"] });
  t.is(echo.headers.get("cache-control"), "no-cache");

  const missing = await fetch(new URL("/nope", base));
  t.is(missing.status, 404);
  const redirect = await fetch(new URL("/elsewhere", base), { redirect: "manual" });
  t.is(redirect.status, 302);
  t.is(redirect.headers.get("location"), "https://example.com/");

  // The RPC port serves the same pages on GET.
  t.is(await (await fetch(node.rpcUrl)).text(), "<h1>hello web4</h1>");
});
