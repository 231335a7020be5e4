// near-workspaces 5, used exactly as a contract project uses it, against localnet's near-sandbox-compatible
// executable. Set NEAR_SANDBOX_BIN_PATH to a directory holding a real near-sandbox to run the same tests there.
import anyTest, { type TestFn } from "ava";
import nearWorkspaces, { type NearAccount, type Worker as WorkerType } from "near-workspaces";
import { deployableContract } from "./helpers/contracts.js";
import { useLocalnet } from "./helpers/localnet.js";

// near-workspaces is CommonJS whose re-exports Node cannot see as named ESM exports.
const { parseNEAR, TransactionError, Worker } = nearWorkspaces;
const near = (amount: string): bigint => BigInt(parseNEAR(amount));
type Worker = WorkerType;

useLocalnet();

const test = anyTest as TestFn<{ worker: Worker; root: NearAccount }>;

test.before(async (t) => {
  const worker = await Worker.init();
  t.context = { worker, root: worker.rootAccount };
});

test.after.always(async (t) => {
  await t.context.worker?.tearDown();
});

const STORAGE_PRICE = 10n ** 19n;

test("root account is test.near with the genesis balance", async (t) => {
  const { root } = t.context;
  t.is(root.accountId, "test.near");
  t.true((await root.availableBalance()) > near("1000000"));
});

test("createSubAccount, transfers and balances with storage staking", async (t) => {
  const { root } = t.context;
  const alice = await root.createSubAccount("alice", { initialBalance: near("10") });
  const bob = await root.createSubAccount("bob", { initialBalance: near("1") });
  t.is(alice.accountId, "alice.test.near");
  await alice.transfer(bob, near("2"));
  const bobBalance = await bob.balance();
  t.is(bobBalance.total.toString(), near("3").toString());
  const view = await bob.accountView();
  t.is(view.storage_usage, 182);
  t.is(bobBalance.stateStaked.toString(), (182n * STORAGE_PRICE).toString());
  // alice paid 2 NEAR plus gas.
  const aliceTotal = BigInt((await alice.balance()).total.toString());
  t.true(aliceTotal < near("8"));
  t.true(aliceTotal > near("7.99"));
});

test("a sub-account of someone else cannot be created", async (t) => {
  const { root } = t.context;
  const carol = await root.createSubAccount("carol");
  const result = await carol.batch("dave.test.near").createAccount().transfer(near("1")).transact();
  t.true(result.failed);
  t.deepEqual(Object.keys((result.Failure as { ActionError: { kind: object } }).ActionError.kind), [
    "CreateAccountNotAllowed",
  ]);
});

test("devDeploy a near-sdk-js contract, call and view; storage is staked", async (t) => {
  const { root } = t.context;
  const contract = await root.devDeploy(await deployableContract("status"), {
    method: "init",
    args: { owner: "someone.test.near" },
    initialBalance: near("20"),
  });
  const user = await root.createSubAccount("user1");
  await user.call(contract, "set_status", { message: "hello" });
  t.is(await contract.view("get_status", { account_id: user.accountId }), "hello");
  t.is(await contract.view("get_owner"), "someone.test.near");
  const view = await contract.accountView();
  const code = await contract.viewCodeRaw();
  t.true(view.storage_usage > Buffer.from(code, "base64").length);
  const balance = await contract.balance();
  t.is(balance.stateStaked.toString(), (BigInt(view.storage_usage) * STORAGE_PRICE).toString());
});

test("panics arrive as typed errors, in calls and views", async (t) => {
  const { root } = t.context;
  const contract = await root.devDeploy(await deployableContract("status"));
  const err = await t.throwsAsync(root.call(contract, "fail", { message: "boom" }), {
    instanceOf: TransactionError,
  });
  t.regex(err?.message ?? "", /Smart contract panicked: boom/);
  const viewErr = await t.throwsAsync(contract.view("fail_view"));
  t.regex(viewErr?.message ?? "", /Smart contract panicked: explicit panic/);
  const missing = await t.throwsAsync(contract.view("no_such_method"));
  t.regex(missing?.message ?? "", /MethodNotFound|method is not found/);
});

test("cross-contract call with callback, success and failure branches", async (t) => {
  const { root } = t.context;
  const target = await root.devDeploy(await deployableContract("status"), {
    method: "init",
    args: { owner: "o.test.near" },
  });
  const cross = await root.devDeploy(await deployableContract("cross"));
  const ok = await root.call(
    cross,
    "call_other",
    { target: target.accountId, method: "get_owner", args: {} },
    { gas: 200_000_000_000_000n },
  );
  t.is(ok, 'success:get_owner:"o.test.near"');
  const failed = await root.call(
    cross,
    "call_other",
    { target: target.accountId, method: "fail", args: { message: "x" } },
    { gas: 200_000_000_000_000n },
  );
  t.is(failed, "failure:fail");
  t.is(await cross.view("get_last_result"), "failure:fail");
  const both = await root.call(
    cross,
    "call_both",
    { target: target.accountId },
    { gas: 200_000_000_000_000n },
  );
  t.is(both, 'ok:"o.test.near",failed');
});

test("a deposit attached to a failing cross-contract call comes back", async (t) => {
  const { root } = t.context;
  const target = await root.devDeploy(await deployableContract("status"));
  // Enough for the WASM's storage stake (~7 NEAR for ~690 KB of code) and the 1 NEAR it forwards.
  const cross = await root.devDeploy(await deployableContract("cross"), { initialBalance: near("10") });
  const before = BigInt((await cross.balance()).total.toString());
  await root.call(
    cross,
    "call_other",
    { target: target.accountId, method: "fail", args: { message: "x" } },
    {
      gas: 200_000_000_000_000n,
      attachedDeposit: near("1"),
    },
  );
  const after = BigInt((await cross.balance()).total.toString());
  // cross received 1 NEAR, forwarded it, got it refunded: it keeps the NEAR.
  t.true(after - before > near("0.99"));
  const targetBalance = BigInt((await target.balance()).total.toString());
  t.true(targetBalance < near("100.1"));
});

test("wrapping a failing host call in try/catch does not save the transaction", async (t) => {
  const { root } = t.context;
  const contract = await root.devDeploy(await deployableContract("trycatch"));
  const r1 = await root.callRaw(contract, "swallow_panic", {});
  t.true(r1.failed);
  const r2 = await root.callRaw(contract, "swallow_host_error", {});
  t.true(r2.failed);
  t.is(await contract.view("get_marker"), "untouched");
  t.is(await root.call(contract, "plain_catch", {}), "caught ordinary");
});

test("patchStateRecords rewrites contract state and accounts", async (t) => {
  const { root } = t.context;
  const contract = await root.devDeploy(await deployableContract("status"), {
    method: "init",
    args: { owner: "a.test.near" },
  });
  const state = await contract.viewStateRaw();
  const entry = state.find((e) => Buffer.from(e.key, "base64").toString() === "STATE");
  t.truthy(entry);
  const value = JSON.parse(Buffer.from(entry?.value ?? "", "base64").toString());
  value.owner = "patched.test.near";
  await contract.patchState("STATE", JSON.stringify(value));
  t.is(await contract.view("get_owner"), "patched.test.near");

  const rich = root.getAccount("rich.test.near");
  await rich.updateAccount({ amount: near("12345").toString() });
  t.is((await rich.balance()).total.toString(), near("12345").toString());
});

test("fastForward moves height and block time ahead as nearcore's sandbox does (1.3 s a block, kept)", async (t) => {
  const { worker, root } = t.context;
  // near-workspaces' provider type comes from its own near-api-js copy; only `block` is needed here.
  const provider = worker.provider as unknown as {
    block(q: object): Promise<{ header: { height: number; timestamp_nanosec: string } }>;
  };
  const wallNs = () => BigInt(Date.now()) * 1_000_000n;
  const ms = 1_000_000n;
  const before = await provider.block({ finality: "final" });
  const start = wallNs();
  await worker.provider.fastForward(1000);
  const after = await provider.block({ finality: "final" });
  t.true(after.header.height >= before.header.height + 1000);
  // nearcore: now + accrued delta_height × (min + max block production delay) / 2.
  const ahead = BigInt(after.header.timestamp_nanosec) - start;
  t.true(ahead >= 1300_000n * ms, `block time ${ahead / ms} ms ahead of the wall clock, want >= 1300 s`);
  t.true(ahead < 1301_000n * ms + (wallNs() - start), `block time ${ahead / ms} ms ahead, want about 1300 s`);

  // After an idle while, a small fast-forward still moves time past the wall clock (not only past the
  // previous block), and the time gained is kept by the blocks that follow.
  await new Promise((r) => setTimeout(r, 1500));
  const idle = wallNs();
  await worker.provider.fastForward(1);
  const small = await provider.block({ finality: "final" });
  t.true(BigInt(small.header.timestamp_nanosec) - idle >= 1301_300n * ms, "1300 s + 1.3 s ahead");
  await root.createSubAccount("afterff");
  const next = await provider.block({ finality: "final" });
  t.true(BigInt(next.header.timestamp_nanosec) - wallNs() >= 1300_000n * ms, "later blocks stay ahead");
});

test("tearDown leaves no process behind", async (t) => {
  const worker = await Worker.init();
  const pid = (worker as unknown as { server: { subprocess: { pid: number } } }).server.subprocess.pid;
  t.true(isAlive(pid));
  await worker.tearDown();
  const deadline = Date.now() + 15_000; // a budget for a loaded machine, not a speed target
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.false(isAlive(pid));
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
