// Every `npm run 0g:<verb>` script against the local 0G chain, balances checked to the wei.
import test from "ava";
import { Contract, parseEther, type TransactionReceipt } from "ethers";
import { InferenceServing, LedgerManager } from "#internal/scripts/0g/lib/contracts";
import { type Local0g, runScript, startLocal0g } from "./helpers/zerog.js";

let zg: Local0g;
test.before(async () => {
  zg = await startLocal0g();
});
test.after.always(async () => {
  await zg?.close();
});

const ledgerC = () => new Contract(zg.addresses.ledger, LedgerManager.abi as never, zg.rpc);
const servingC = () => new Contract(zg.addresses.inference, InferenceServing.abi as never, zg.rpc);

async function ledger(addr: string) {
  const l = await ledgerC().getFunction("getLedger")(addr);
  return { total: l.totalBalance as bigint, available: l.availableBalance as bigint };
}

/** Gas actually paid by the txs whose hashes a script printed (to check wallet balances exactly). */
async function gasPaid(stdout: string): Promise<bigint> {
  let sum = 0n;
  for (const [, hash] of stdout.matchAll(/tx (0x[0-9a-f]{64})/g)) {
    const r = (await zg.rpc.getTransactionReceipt(hash as string)) as TransactionReceipt;
    sum += r.gasUsed * r.gasPrice;
  }
  return sum;
}

test.serial("deposit → acknowledge → transfer → ledger → retrieve → refund, exact to the wei", async (t) => {
  const user = await zg.newFundedWallet(parseEther("100"));
  const env = { ZG_PRIVATE_KEY: user.privateKey, ZG_RPC_URL: zg.rpcUrl };
  const n = ["--network", "local"];
  let wallet = await zg.rpc.getBalance(user.address);

  // 1 wei past 10 0G: a JS number could not carry it.
  let r = await runScript("deposit", [...n, "--amount", "10.000000000000000001"], env);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /tx 0x[0-9a-f]{64}/);
  t.deepEqual(await ledger(user.address), { total: 10n ** 19n + 1n, available: 10n ** 19n + 1n });
  wallet -= 10n ** 19n + 1n + (await gasPaid(r.stdout));
  t.is(await zg.rpc.getBalance(user.address), wallet);

  r = await runScript("providers", [...n], { ZG_RPC_URL: zg.rpcUrl });
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.includes(zg.provider.address));
  t.false(r.stdout.includes(zg.unacknowledgedProvider.address), "unacknowledged hidden without --all");

  r = await runScript("acknowledge", [...n, "--provider", zg.model], env);
  t.is(r.code, 0, r.stderr);
  const acc = await servingC().getFunction("getAccount")(user.address, zg.provider.address);
  t.true(acc.acknowledged);
  t.is(acc.balance, parseEther("1"));
  t.deepEqual(await ledger(user.address), { total: 10n ** 19n + 1n, available: 9n * 10n ** 18n + 1n });

  r = await runScript(
    "transfer",
    [...n, "--provider", zg.provider.address, "--amount", "0.123456789012345678"],
    env,
  );
  t.is(r.code, 0, r.stderr);
  t.is(
    (await servingC().getFunction("getAccount")(user.address, zg.provider.address)).balance,
    parseEther("1.123456789012345678"),
  );
  t.deepEqual(await ledger(user.address), {
    total: 10n ** 19n + 1n,
    available: 9n * 10n ** 18n + 1n - 123456789012345678n,
  });

  r = await runScript("ledger", [...n], env);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.includes("1123456789012345678 wei"));

  // Retrieve is two-phase: request now, collect after the contract's lock time.
  r = await runScript("retrieve", [...n], env);
  t.is(r.code, 0, r.stderr);
  t.is(
    (await servingC().getFunction("getAccount")(user.address, zg.provider.address)).pendingRefund,
    parseEther("1.123456789012345678"),
  );
  const lockTime = Number(await servingC().getFunction("lockTime")());
  await zg.increaseTime(lockTime + 1);
  r = await runScript("retrieve", [...n, "--provider", zg.provider.address], env);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(await ledger(user.address), { total: 10n ** 19n + 1n, available: 10n ** 19n + 1n });

  wallet = await zg.rpc.getBalance(user.address);
  r = await runScript("refund", [...n, "--amount", "7.000000000000000001"], env);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(await ledger(user.address), { total: 3n * 10n ** 18n, available: 3n * 10n ** 18n });
  t.is(await zg.rpc.getBalance(user.address), wallet + 7n * 10n ** 18n + 1n - (await gasPaid(r.stdout)));
});

test.serial("errors say what to do next and change nothing", async (t) => {
  const user = await zg.newFundedWallet(parseEther("5"));
  const env = { ZG_PRIVATE_KEY: user.privateKey, ZG_RPC_URL: zg.rpcUrl };
  const n = ["--network", "local"];
  const nonce = await zg.rpc.getTransactionCount(user.address);

  let r = await runScript("deposit", [...n, "--amount", "1e3"], env);
  t.is(r.code, 1);
  t.regex(r.stderr, /not a decimal 0G amount/);

  r = await runScript("deposit", [...n, "--amount", "0.0000000000000000001"], env);
  t.regex(r.stderr, /more than 18 decimals/);

  r = await runScript("deposit", [...n, "--amount", "1"], env);
  t.is(r.code, 1);
  t.regex(r.stderr, /minimum/);
  t.regex(r.stderr, /next: /);

  r = await runScript("transfer", [...n, "--provider", zg.provider.address, "--amount", "1"], env);
  t.is(r.code, 1);
  t.regex(r.stderr, /no 0G ledger yet[\s\S]*next: create it with npm run 0g:deposit/);

  r = await runScript("refund", [...n, "--amount", "all"], env);
  t.is(r.code, 1);

  r = await runScript("ledger", [...n], { ZG_RPC_URL: zg.rpcUrl, ZG_PRIVATE_KEY: "" });
  t.is(r.code, 1);
  t.regex(r.stderr, /no wallet key[\s\S]*ZG_PRIVATE_KEY/);

  r = await runScript("ledger", [...n, "--rpc", "http://127.0.0.1:9"], env);
  t.is(r.code, 1);
  t.regex(r.stderr, /cannot reach[\s\S]*next: start the local chain first/);
  t.false(r.stderr.includes(user.privateKey.slice(2)));

  r = await runScript("acknowledge", [...n, "--provider", zg.unacknowledgedProvider.address], env);
  t.is(r.code, 1);
  t.regex(r.stderr, /not acknowledged/);

  t.is(await zg.rpc.getTransactionCount(user.address), nonce, "no transaction was sent");
});

test("npm run 0g -- <command> is one CLI; every 0g:<command> script is its alias", async (t) => {
  const { readFile } = await import("node:fs/promises");
  const scripts = JSON.parse(await readFile("package.json", "utf8")).scripts as Record<string, string>;
  const aliases = Object.entries(scripts).filter(([name]) => name.startsWith("0g:"));
  t.is(scripts["0g"], "tsx scripts/0g.ts");
  t.deepEqual(
    aliases.map(([name, script]) => [name, script]),
    aliases.map(([name]) => [name, `tsx scripts/0g.ts ${name.slice(3)}`]),
  );
  const help = await runScript("--help", [], {});
  t.is(help.code, 0, help.stderr);
  for (const [name] of aliases) t.regex(help.stdout, new RegExp(`^  ${name.slice(3)} `, "m"), name);
  // An alias as a user types it, through npm.
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const r = await promisify(execFile)("npm", ["run", "-s", "0g:providers", "--", "--network", "local"], {
    env: { ...process.env, ZG_RPC_URL: zg.rpcUrl, ZG_PRIVATE_KEY: "" },
  });
  t.true(r.stdout.includes(zg.provider.address));
});
