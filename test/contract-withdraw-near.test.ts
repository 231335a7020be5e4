// Token contract: the owner withdraws the NEAR that buy_tokens_for_near received (withdraw_near,
// get_withdrawable_near), never the storage stake nor what NEP-145 registrations may claim back.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import anyTest, { type TestFn } from "ava";
import type { KeyPairString } from "near-api-js";
import type { NearAccount, TransactionResult } from "near-workspaces";
import { withdrawNear } from "#internal/scripts/withdraw-near";
import { projectRoot } from "./helpers/localnet.js";
import {
  balanceOf,
  deployToken,
  NEAR,
  newAccount,
  ONE_YOCTO,
  panics,
  registerAccount,
  TGAS,
  type TokenContext,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext & { world?: World }>;

// Every test leaves the supply invariant intact.
useTokenWorker(test);

const PRICE = 10n ** 18n; // yoctoNEAR per token unit: 1 NEAR buys 1_000_000 units
const GAS = 100n * TGAS;
const BYTE_COST = 10n ** 19n;

/** A token whose owner set a price, and `buys` NEAR of tokens bought by alice. */
async function saleWorld(t: { context: TokenContext & { world?: World } }, buys: bigint) {
  const w = await deployToken(t.context.root);
  t.context.world = w;
  await w.owner.call(w.token, "set_token_price", { price: PRICE.toString() });
  if (buys > 0n) await w.alice.call(w.token, "buy_tokens_for_near", {}, { attachedDeposit: buys });
  return w;
}

const withdrawable = async (w: World) => BigInt(await w.token.view<string>("get_withdrawable_near"));
const nearBalance = async (a: NearAccount) => BigInt((await a.accountView()).amount);

function withdraw(w: World, who: NearAccount, args: Record<string, unknown>, attachedDeposit = ONE_YOCTO) {
  return who.call(w.token, "withdraw_near", args, { attachedDeposit, gas: GAS });
}

/** Everything the signer paid for gas: tokens burnt by the transaction and every receipt it caused. */
const tokensBurnt = (r: TransactionResult) => r.outcomes.reduce((sum, o) => sum + BigInt(o.tokens_burnt), 0n);

/**
 * The signer's balance changed by `expected` minus the gas of `r`. localnet settles exactly; nearcore
 * may keep a small gas-refund penalty, hence the 1 mNEAR of slack below.
 */
function assertGained(
  t: { true(v: boolean, m?: string): void },
  gained: bigint,
  expected: bigint,
  r: TransactionResult,
) {
  const gas = tokensBurnt(r);
  t.true(gas > 0n && gas < NEAR / 100n, `gas ${gas}`);
  t.true(
    gained <= expected - gas && gained > expected - gas - NEAR / 1000n,
    `gained ${gained}, expected ${expected} - gas ${gas}`,
  );
}

test.serial(
  "withdraw_near: the owner takes the proceeds of a buy; its balance rises by them minus gas",
  async (t) => {
    const w = await saleWorld(t, 0n);
    t.is(await withdrawable(w), 0n, "nothing sold yet");
    await panics(t, withdraw(w, w.owner, {}), "Nothing to withdraw (get_withdrawable_near is 0)");
    // Storage deposits (alice and bob registered) are not proceeds.
    await w.alice.call(w.token, "buy_tokens_for_near", {}, { attachedDeposit: NEAR + 123n });
    t.is(await withdrawable(w), NEAR, "the 123 yoctoNEAR remainder was refunded, not kept");

    const before = await nearBalance(w.owner);
    const contractBefore = await nearBalance(w.token);
    const result = await w.owner.callRaw(
      w.token,
      "withdraw_near",
      {},
      { attachedDeposit: ONE_YOCTO, gas: GAS },
    );
    t.true(result.succeeded, JSON.stringify(result.Failure));
    t.is(result.parseResult(), NEAR.toString(), "returns the amount sent");
    t.true(result.logs.includes(`withdraw_near: ${NEAR} yoctoNEAR to ${w.owner.accountId}`));
    // The owner receives the proceeds and pays the 1 yoctoNEAR and the gas.
    assertGained(t, (await nearBalance(w.owner)) - before, NEAR - ONE_YOCTO, result);
    t.true(contractBefore - (await nearBalance(w.token)) >= NEAR - ONE_YOCTO, "the NEAR left the contract");
    t.is(await withdrawable(w), 0n);
    await panics(t, withdraw(w, w.owner, {}), "Nothing to withdraw");
    // Tokens are untouched: the buyer keeps what it bought.
    t.is(await balanceOf(w.token, w.alice), 1_000_000n);
  },
);

test.serial(
  "withdraw_near: partial amounts to another receiver, then the rest; over-withdraw and bad amounts panic",
  async (t) => {
    const w = await saleWorld(t, 2n * NEAR);
    t.is(await withdrawable(w), 2n * NEAR);
    const half = NEAR / 2n;
    const bobBefore = await nearBalance(w.bob);
    t.is(
      await withdraw(w, w.owner, { amount: half.toString(), receiver_id: w.bob.accountId }),
      half.toString(),
    );
    t.is((await nearBalance(w.bob)) - bobBefore, half, "the receiver gets exactly the amount");
    t.is(await withdrawable(w), 2n * NEAR - half);

    const rest = 2n * NEAR - half;
    await panics(
      t,
      withdraw(w, w.owner, { amount: (rest + 1n).toString() }),
      `amount ${rest + 1n} exceeds the withdrawable NEAR (${rest} yoctoNEAR)`,
    );
    await panics(t, withdraw(w, w.owner, { amount: "0" }), "amount must be positive");
    for (const amount of ["-1", "1.5", "1e24", "01", 5, "340282366920938463463374607431768211456"]) {
      await panics(
        t,
        withdraw(w, w.owner, { amount }),
        /amount must be a U128 decimal string|overflows u128/,
      );
    }
    await panics(
      t,
      withdraw(w, w.owner, { receiver_id: w.token.accountId }),
      "receiver_id cannot be the token contract itself",
    );
    await panics(
      t,
      withdraw(w, w.owner, { receiver_id: "Not An Account" }),
      "receiver_id is not a valid account id",
    );
    t.is(await withdrawable(w), rest, "failed calls changed nothing");

    t.is(await withdraw(w, w.owner, { amount: "1" }), "1");
    t.is(await withdraw(w, w.owner, {}), (rest - 1n).toString(), "omitted amount = everything withdrawable");
    t.is(await withdrawable(w), 0n);
    await panics(
      t,
      withdraw(w, w.owner, { amount: "1" }),
      "amount 1 exceeds the withdrawable NEAR (0 yoctoNEAR)",
    );
    // New sales become withdrawable again.
    await w.bob.call(w.token, "buy_tokens_for_near", {}, { attachedDeposit: 3n * PRICE });
    t.is(await withdrawable(w), 3n * PRICE);
  },
);

test.serial(
  "withdraw_near: a transfer that fails (receiver does not exist) makes the amount withdrawable again",
  async (t) => {
    const w = await saleWorld(t, NEAR);
    const missing = `nobody${Date.now()}.${t.context.root.accountId}`;
    const result = await w.owner.callRaw(
      w.token,
      "withdraw_near",
      { receiver_id: missing },
      { attachedDeposit: ONE_YOCTO, gas: GAS },
    );
    t.true(result.succeeded, JSON.stringify(result.Failure));
    t.is(result.parseResult(), "0");
    t.true(result.logs.some((l) => l.includes("the transfer failed")));
    t.is(await withdrawable(w), NEAR, "re-credited, and the refunded NEAR is back in the account");
    t.is(await withdraw(w, w.owner, {}), NEAR.toString());
  },
);

test.serial(
  "T05 withdraw_near rejects every predecessor but the owner; on_withdraw_near rejects external calls",
  async (t) => {
    const w = await saleWorld(t, NEAR);
    // The buyer, another user, the operator, an unregistered account, the contract's own key.
    await w.owner.call(w.token, "set_operator", { operator_id: w.bob.accountId });
    const stranger = await newAccount(t.context.root, "stranger");
    for (const who of [w.alice, w.bob, stranger, w.token]) {
      await panics(t, withdraw(w, who, {}), "Only the owner can call this method");
      await panics(
        t,
        withdraw(w, who, { amount: "1", receiver_id: who.accountId }),
        "Only the owner can call this method",
      );
    }
    await panics(
      t,
      w.alice.call(w.token, "on_withdraw_near", { amount: NEAR.toString() }, { gas: GAS }),
      "Function is private",
    );
    t.is(await withdrawable(w), NEAR, "nothing moved, nothing re-credited");
    // After set_owner the previous owner is just another account.
    await w.owner.call(w.token, "set_owner", { owner_id: w.alice.accountId });
    await panics(t, withdraw(w, w.owner, {}), "Only the owner can call this method");
    t.is(await withdraw(w, w.alice, { amount: "5" }), "5");
  },
);

test.serial(
  "withdraw_near requires exactly 1 yoctoNEAR (a function-call access key cannot drain it) and 50 Tgas",
  async (t) => {
    const w = await saleWorld(t, NEAR);
    for (const deposit of [0n, 2n, NEAR]) {
      await panics(t, withdraw(w, w.owner, {}, deposit), "Requires attached deposit of exactly 1 yoctoNEAR");
    }
    // The callback's gas is checked up front, not discovered as "Exceeded the prepaid gas".
    await panics(
      t,
      w.owner.call(w.token, "withdraw_near", {}, { attachedDeposit: ONE_YOCTO, gas: 30n * TGAS }),
      "More gas is required: attach at least 50000000000000",
    );
    t.is(await withdrawable(w), NEAR);
  },
);

test.serial(
  "withdrawable never includes storage: users can still storage_withdraw / storage_unregister after the owner withdrew everything",
  async (t) => {
    const w = await saleWorld(t, NEAR);
    const carol = await newAccount(t.context.root, "carol");
    await registerAccount(w.token, carol);
    const min = BigInt((await w.token.view<{ min: string }>("storage_balance_bounds")).min);
    // Leave the contract account only 0.5 NEAR above its storage stake (its key sends the rest away),
    // so the NEAR it can spare, not the proceeds, is what limits the withdrawal.
    const view = await w.token.accountView();
    const free = BigInt(view.amount) - BigInt(view.storage_usage) * BYTE_COST;
    await w.token.transfer(t.context.root, free - NEAR / 2n);

    // owner (from `new`), alice, bob, carol: four registrations the contract may have to pay back.
    const after = await w.token.accountView();
    const spare = BigInt(after.amount) - BigInt(after.storage_usage) * BYTE_COST - 4n * min;
    t.true(spare > 0n && spare < NEAR, `spare ${spare}`);
    t.is(
      await withdrawable(w),
      spare,
      "capped by storage stake + registrations, below the 1 NEAR of proceeds",
    );
    // The 1 yoctoNEAR attached to the call is part of the balance it spares.
    t.is(await withdraw(w, w.owner, {}), (spare + ONE_YOCTO).toString());
    // What is left: whatever the contract was paid for gas, or the STATE record shrinking.
    t.true((await withdrawable(w)) < NEAR / 1000n);
    await panics(
      t,
      withdraw(w, w.owner, { amount: (NEAR / 1000n).toString() }),
      "exceeds the withdrawable NEAR",
    );

    // Every registration can still be withdrawn and unregistered, and gets its deposit back.
    t.like(await w.bob.call(w.token, "storage_withdraw", {}, { attachedDeposit: ONE_YOCTO }), {
      available: "0",
    });
    const carolBefore = await nearBalance(carol);
    const r = await carol.callRaw(w.token, "storage_unregister", {}, { attachedDeposit: ONE_YOCTO });
    t.true(r.succeeded, JSON.stringify(r.Failure));
    t.is(r.parseResult(), true);
    // min + 1 yoctoNEAR back, 1 yoctoNEAR attached, gas paid.
    assertGained(t, (await nearBalance(carol)) - carolBefore, min, r);
    t.is(await w.bob.call(w.token, "storage_unregister", {}, { attachedDeposit: ONE_YOCTO }), true);
    t.is(
      await w.alice.call(w.token, "storage_unregister", { force: true }, { attachedDeposit: ONE_YOCTO }),
      true,
    );
    const end = await w.token.accountView();
    t.true(BigInt(end.amount) >= BigInt(end.storage_usage) * BYTE_COST, "the storage stake is intact");
  },
);

test.serial(
  "a contract upgraded from a version without withdraw_near (no near_proceeds / registered_accounts in STATE) keeps working",
  async (t) => {
    const w = await saleWorld(t, 0n);
    // What the STATE of a contract deployed before this change looks like.
    const entry = (await w.token.viewStateRaw()).find(
      (e) => Buffer.from(e.key, "base64").toString() === "STATE",
    );
    const state = JSON.parse(Buffer.from(entry?.value ?? "", "base64").toString());
    t.is(state.near_proceeds, "0");
    t.is(state.registered_accounts, 3, "owner (from new), alice, bob");
    delete state.near_proceeds;
    delete state.registered_accounts;
    await w.token.patchState("STATE", JSON.stringify(state));

    t.is(await withdrawable(w), 0n, "sales before the upgrade were not counted");
    await panics(t, withdraw(w, w.owner, {}), "Nothing to withdraw");
    t.is(await w.bob.call(w.token, "storage_unregister", {}, { attachedDeposit: ONE_YOCTO }), true);
    await w.alice.call(w.token, "buy_tokens_for_near", {}, { attachedDeposit: NEAR });
    t.is(await withdrawable(w), NEAR);
    const carol = await newAccount(t.context.root, "carol");
    await registerAccount(w.token, carol);
    t.is(await withdraw(w, w.owner, {}), NEAR.toString());
    t.is(await withdrawable(w), 0n);
  },
);

test.serial("npm run withdraw-near: the script withdraws through near-api-js as the owner", async (t) => {
  const w = await saleWorld(t, 2n * NEAR);
  const rpcUrl = (t.context.worker.provider as unknown as { connection: { url: string } }).connection.url;
  const ownerKey = (await w.owner.getKey())?.toString() as KeyPairString;
  const bobBefore = await nearBalance(w.bob);
  t.deepEqual(
    await withdrawNear({
      rpcUrl,
      contractId: w.token.accountId,
      ownerId: w.owner.accountId,
      ownerKey,
      amount: "1000",
      receiverId: w.bob.accountId,
    }),
    { before: (2n * NEAR).toString(), sent: "1000", after: (2n * NEAR - 1000n).toString() },
  );
  t.is((await nearBalance(w.bob)) - bobBefore, 1000n);

  // The command line, with the owner's key in a near-cli style key file.
  const dir = mkdtempSync(join(tmpdir(), "withdraw-near-"));
  try {
    const keyFile = join(dir, "owner.json");
    writeFileSync(keyFile, JSON.stringify({ account_id: w.owner.accountId, private_key: ownerKey }));
    const run = (...extra: string[]) =>
      promisify(execFile)(
        process.execPath,
        [
          "--import=tsx",
          "scripts/withdraw-near.ts",
          ...["--network", "localnet", "--rpc", rpcUrl, "--contract", w.token.accountId],
          ...["--owner", w.owner.accountId, "--key-file", keyFile, ...extra],
        ],
        { cwd: projectRoot },
      );
    const bad = await t.throwsAsync(run("--amount", "1.5"));
    t.regex(String((bad as { stderr?: string })?.stderr), /--amount is a positive whole number of yoctoNEAR/);
    const ownerBefore = await nearBalance(w.owner);
    const { stdout } = await run();
    t.regex(
      stdout,
      new RegExp(`sent to ${w.owner.accountId}: 1\\.999999 NEAR \\(${2n * NEAR - 1000n} yoctoNEAR\\)`),
    );
    t.regex(stdout, /withdrawable now: 0 NEAR \(0 yoctoNEAR\)/);
    t.true((await nearBalance(w.owner)) - ownerBefore > 2n * NEAR - 1000n - NEAR / 100n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
