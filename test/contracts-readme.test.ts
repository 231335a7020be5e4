// contracts/README.md is tested (a wrong recipe there once cost a user their escrow):
// - every near-api-js block runs, in order, as one program against localnet, the real contract and
//   the real proxy (the test only fast-forwards time where the text says "an hour later");
// - the conversation-id recipe runs in bash and must give the id the proxy derives;
// - every near CLI line is expanded by bash (a stand-in `near` records its arguments: near-cli-rs
//   itself is a binary download that cannot be installed offline) and checked against the contract:
//   the method exists, the JSON arguments parse, gas and deposit units are valid and the deposits the
//   page quotes cover what the contract asks for.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import anyTest, { type TestFn } from "ava";
import { Wallet } from "ethers";
import { parseConfig } from "#internal/proxy/config";
import { createLogger } from "#internal/proxy/logger";
import { type RunningProxy, startProxy } from "#internal/proxy/server";
import type { ConversationPage } from "#wire";
import { conversationIdOf } from "#wire/crypto";
import { tokenJs } from "./helpers/contracts.js";
import { projectRoot } from "./helpers/localnet.js";
import {
  deployAndInit,
  initWorker,
  NEAR,
  newAccount,
  passTime,
  type TokenContext,
  tokenBundle,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext>;
const exec = promisify(execFile);
const readme = readFileSync(join(projectRoot, "contracts", "README.md"), "utf8");

test.before(async (t) => {
  Object.assign(t.context, await initWorker());
});
test.after.always(async (t) => {
  await t.context.worker?.tearDown().catch(() => {});
});

function blocks(lang: "js" | "sh"): string[] {
  return [...readme.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map(
    (m) => m[1] as string,
  );
}

const keyOf = async (a: { getKey(): Promise<unknown> }) => String(await a.getKey());

test.serial("every near-api-js block runs, in order, against localnet and the proxy", async (t) => {
  const { root, worker } = t.context;
  const token = await newAccount(root, "token", 50n * NEAR);
  const owner = await newAccount(root, "owner");
  const user = await newAccount(root, "user");
  const signer = new Wallet(Wallet.createRandom().privateKey);
  const rpcUrl = (worker.provider as unknown as { connection: { url: string } }).connection.url;
  let proxy: RunningProxy | undefined;
  proxy = await startProxy(
    parseConfig({
      port: 0,
      store: { path: ":memory:" },
      chain: { type: "near", rpc_url: rpcUrl, contract_id: token.accountId },
      models: [{ id: "demo-local", input_price: "1000000", output_price: "2000000", providers: ["local"] }],
      providers: [{ name: "local", type: "local" }],
    }),
    { env: { ...process.env, AIPROXY_REFUND_SIGNER_KEY: signer.privateKey }, logger: createLogger("warn") },
  );
  Object.assign(process.env, {
    NEAR_RPC: rpcUrl,
    TOKEN: token.accountId,
    TOKEN_KEY: await keyOf(token),
    OWNER: owner.accountId,
    OWNER_KEY: await keyOf(owner),
    USER: user.accountId,
    USER_KEY: await keyOf(user),
    PROXY: proxy.url,
    REFUND_SIGNER: signer.address,
    TOKEN_CODE: await tokenBundle(),
  });
  const js = blocks("js");
  t.true(js.length >= 10, `${js.length} blocks`);
  const hooks = globalThis as unknown as { readmeBlock: (i: number) => Promise<void> };
  const ran: number[] = [];
  hooks.readmeBlock = async (i) => {
    ran.push(i);
    if (/an hour later/.test(js[i] ?? "")) await passTime(worker, 3601);
  };
  const program = js.map((b, i) => `await globalThis.readmeBlock(${i});\n${b}`).join("\n");
  const dir = join(projectRoot, "build", "tmp");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `readme-${process.pid}.mjs`);
  writeFileSync(file, program);
  const log = console.log;
  console.log = () => {}; // the blocks print what a reader would see
  try {
    await import(file);
  } finally {
    console.log = log;
    rmSync(file, { force: true });
    await proxy?.stop(2000);
  }
  t.deepEqual(
    ran,
    js.map((_, i) => i),
    "every block ran",
  );
  // What the program did, read back from the chain.
  const page = await token.view<ConversationPage>("list_ai_conversations", { account_id: user.accountId });
  t.deepEqual(
    page.conversations.map((c) => [c.status, c.deposit, c.refund_amount]),
    [
      ["reclaimed", "2000000", "2000000"],
      ["refunded", "5000000", "5000000"],
    ],
  );
  t.is(await token.view("storage_balance_of", { account_id: user.accountId }), null, "user left");
  t.like(await token.view("get_config"), {
    owner_id: owner.accountId,
    refund_signers: [signer.address.toLowerCase()],
  });
});

test("the conversation-id recipe in bash gives the id the proxy derives", async (t) => {
  const line = readme.split("\n").find((l) => l.startsWith("SECRET=$(openssl rand -hex 32)"));
  t.truthy(line);
  const { stdout } = await exec("bash", ["-c", `set -euo pipefail; ${line}; echo "$SECRET $CID"`]);
  const [secret, cid] = stdout.trim().split(" ");
  t.regex(secret ?? "", /^[0-9a-f]{64}$/);
  t.is(cid, conversationIdOf(secret!));
});

test.serial("every near CLI line names a real method with valid JSON, gas and deposit", async (t) => {
  const { root } = t.context;
  const owner = await newAccount(root, "owner");
  const token = await newAccount(root, "token", 50n * NEAR);
  await deployAndInit(token, owner);
  const config = await token.view<{ conversation_deposit_max: string; storage_balance_min: string }>(
    "get_config",
  );
  const exported = /export \{([^}]*)\}/.exec(readFileSync(await tokenJs(), "utf8"))?.[1] ?? "";
  const methods = new Set(exported.split(",").map((e) => e.trim().split(" as ").pop()!));
  t.true(methods.has("start_ai_conversation") && methods.has("new"));

  const lines = blocks("sh")
    .flatMap((b) => b.split("\n"))
    .filter((l) => /^\s*(near |[A-Z]+=)/.test(l));
  // Bash expands each line exactly as for a user; the stand-ins print what they were given.
  const script = [
    "set -euo pipefail",
    "near() { printf '%s\\x1f' \"$@\"; printf '\\x1e'; }",
    'curl() { echo \'{"refund_message":"{}","signature":"0x00"}\'; }',
    "openssl() { echo 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff; }",
    ...lines,
  ].join("\n");
  const { stdout } = await exec("bash", ["-c", script]);
  const calls = stdout
    .split("\x1e")
    .filter(Boolean)
    .map((c) => c.split("\x1f").slice(0, -1));
  t.true(calls.length >= 30, `${calls.length} near commands`);
  const yocto = (text: string) => {
    const m = /^(\d+(?:\.\d+)?) (NEAR|yoctoNEAR)$/.exec(text);
    if (!m) return undefined;
    if (m[2] === "yoctoNEAR") return BigInt(m[1]!);
    const [whole, frac = ""] = m[1]!.split(".");
    return BigInt(whole!) * NEAR + BigInt(frac.padEnd(24, "0"));
  };
  for (const argv of calls) {
    const where = argv.join(" ").slice(0, 120);
    let method: string;
    let rest: string[];
    if (argv[0] === "contract" && argv[1] === "deploy") {
      t.is(argv[3], "use-file", where);
      t.is(argv[5], "with-init-call", where);
      method = argv[6]!;
      rest = argv.slice(7);
    } else {
      t.deepEqual(argv.slice(0, 2), ["contract", "call-function"], where);
      t.true(["as-read-only", "as-transaction"].includes(argv[2]!), where);
      method = argv[4]!;
      rest = argv.slice(5);
    }
    t.true(methods.has(method), `${method} is a contract method`);
    t.is(rest[0], "json-args", where);
    const args = JSON.parse(rest[1]!) as Record<string, unknown>;
    t.is(typeof args, "object", where);
    if (argv[2] === "as-read-only") {
      t.deepEqual(rest.slice(2), ["network-config", "localnet", "now"], where);
      continue;
    }
    t.is(rest[2], "prepaid-gas", where);
    const gas = /^(\d+(?:\.\d+)?) Tgas$/.exec(rest[3]!);
    t.true(gas !== null && Number(gas[1]) > 0 && Number(gas[1]) <= 300, `gas of ${where}`);
    t.is(rest[4], "attached-deposit", where);
    const deposit = yocto(rest[5]!);
    t.not(deposit, undefined, `deposit of ${where}`);
    t.deepEqual(rest.slice(-4), ["network-config", "localnet", "sign-with-keychain", "send"], where);
    if (method === "storage_deposit")
      t.is(deposit, BigInt(config.storage_balance_min), "the page quotes the bound");
    if (method === "start_ai_conversation")
      t.true(deposit! >= BigInt(config.conversation_deposit_max), "the page's deposit covers the storage");
    if (
      ["ft_transfer", "ft_transfer_call", "withdraw_near", "storage_withdraw", "storage_unregister"].includes(
        method,
      )
    )
      t.is(deposit, 1n, `${method} takes exactly 1 yoctoNEAR`);
  }
  t.true(
    readme.includes(`${BigInt(config.storage_balance_min) / 10n ** 19n} bytes`),
    "the page's registration bytes",
  );
  t.true(
    readme.includes(`= 0.00${BigInt(config.conversation_deposit_max) / 10n ** 19n} NEAR`),
    "the page's conversation bound",
  );
});
