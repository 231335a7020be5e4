// A real Rust contract on localnet: near-sdk-js's `ft_transfer_call` receiver (shared/fixtures/defi.wasm,
// near-sdk-rs) deployed as WASM next to our token, through near-workspaces like any sandbox test.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import anyTest, { type TestFn } from "ava";
import bs58 from "bs58";
import type { NearAccount } from "near-workspaces";
import { sharedFixture } from "./helpers/fixtures.js";
import {
  balanceOf,
  deployToken,
  MAX_GAS,
  newAccount,
  ONE_YOCTO,
  registerAccount,
  type TokenContext,
  transfer,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext & { world: World; defi: NearAccount }>;
useTokenWorker(test);

const defiCode = readFileSync(sharedFixture("defi.wasm"));

test.beforeEach(async (t) => {
  const world = await deployToken(t.context.root);
  const defi = await newAccount(t.context.root, "defi", 20n * 10n ** 24n);
  await defi.deploy(defiCode);
  await defi.call(defi, "new", { fungible_token_account_id: world.token.accountId });
  await registerAccount(world.token, defi);
  await transfer(world, world.owner, world.alice, 1000n);
  Object.assign(t.context, { world, defi });
});

async function transferCall(
  t: { context: { world: World; defi: NearAccount } },
  amount: bigint,
  msg: string,
) {
  const { world, defi } = t.context;
  return world.alice.callRaw(
    world.token,
    "ft_transfer_call",
    { receiver_id: defi.accountId, amount: amount.toString(), msg },
    { attachedDeposit: ONE_YOCTO, gas: MAX_GAS },
  );
}

test("the WASM receiver's code hash and size are nearcore's", async (t) => {
  const view = await t.context.defi.accountView();
  t.is(view.code_hash, bs58.encode(createHash("sha256").update(defiCode).digest()));
  t.true(BigInt(view.storage_usage) > BigInt(defiCode.length));
  t.deepEqual(Buffer.from(await t.context.defi.viewCode()), defiCode, "view_code returns the deployed bytes");
});

test("ft_transfer_call to defi.wasm: the receiver returns part of the amount, balances exact", async (t) => {
  const { world, defi } = t.context;
  const result = await transferCall(t, 100n, "10");
  t.true(result.succeeded, JSON.stringify(result.Failure));
  t.is(result.parseResult<string>(), "90", "ft_transfer_call returns the amount the receiver used");
  t.true(result.logs.includes(`in 100 tokens from @${world.alice.accountId} ft_on_transfer, msg = 10`));
  t.true(result.logs.includes("in value_please, amount_to_return = 10"));
  t.is(await balanceOf(world.token, world.alice), 910n);
  t.is(await balanceOf(world.token, defi), 90n);
  // The receiver's part of the work is metered WASM: its receipts burnt gas of their own.
  const defiOutcomes = result.outcomesWithId.filter((o) => o.outcome.executor_id === defi.accountId);
  t.is(defiOutcomes.length, 2, "ft_on_transfer and value_please");
  for (const o of defiOutcomes) t.true(BigInt(o.outcome.gas_burnt) > 0n);
});

test("ft_transfer_call to defi.wasm: 'take-my-money' keeps everything", async (t) => {
  const { world, defi } = t.context;
  const result = await transferCall(t, 250n, "take-my-money");
  t.true(result.succeeded, JSON.stringify(result.Failure));
  t.is(result.parseResult<string>(), "250");
  t.is(await balanceOf(world.token, world.alice), 750n);
  t.is(await balanceOf(world.token, defi), 250n);
});

test("ft_transfer_call to defi.wasm: a receiver that panics gets nothing", async (t) => {
  const { world, defi } = t.context;
  const result = await transferCall(t, 40n, "not a number");
  t.true(result.succeeded, "the sender's call succeeds: ft_resolve_transfer refunds");
  t.is(result.parseResult<string>(), "0");
  t.true(
    result.receiptFailureMessages.some((m) => m.includes("Not an integer")),
    JSON.stringify(result.receiptFailureMessages),
  );
  t.is(await balanceOf(world.token, world.alice), 1000n);
  t.is(await balanceOf(world.token, defi), 0n);
});

test("defi.wasm only accepts transfers from its token (assert on predecessor)", async (t) => {
  const { world, defi } = t.context;
  const err = await t.throwsAsync(
    world.alice.call(defi, "ft_on_transfer", { sender_id: world.alice.accountId, amount: "1", msg: "" }),
  );
  t.regex(err?.message ?? "", /Smart contract panicked: .*Only supports the one fungible token contract/);
});

test("code above nearcore's size limits is refused before it is deployed", async (t) => {
  const account = await newAccount(t.context.root, "big", 100n * 10n ** 24n);
  const code = new Uint8Array(4 * 1024 * 1024 + 1);
  code.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  const err = await t.throwsAsync(account.deploy(code));
  t.is((err as Error & { type?: string }).type, "TransactionSizeExceeded", err?.message);
  t.regex(err?.message ?? "", /"limit":4194304/);
  t.is((await account.accountView()).code_hash, "11111111111111111111111111111111");
});
