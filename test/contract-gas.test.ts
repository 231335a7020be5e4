// Gas of every token method, measured on its WASM on localnet (nearcore's per-instruction costs), kept
// as the table in contracts/README.md: the test fails when the table drifts from what the contract
// burns now (regenerate with UPDATE_GAS_TABLE=1 npx ava test/contract-gas.test.ts), and when the web
// app or the proxy attaches less gas than a method needs, with margin.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import anyTest, { type TestFn } from "ava";
import type { NearAccount, TransactionResult } from "near-workspaces";
import { CALL_GAS, REFUND_GAS } from "#internal/web4/contract";
import { signRefund } from "#wire/crypto";
import { deployedArtifact } from "./helpers/contracts.js";
import { projectRoot } from "./helpers/localnet.js";
import {
  deployToken,
  MAX_GAS,
  METADATA,
  NEAR,
  newAccount,
  ONE_YOCTO,
  openConversation,
  randomWallet,
  receiverBundle,
  refundMessageFor,
  TGAS,
  type TokenContext,
  tokenBundle,
  transfer,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

// Gas is measured on the WASM, also when the rest of a run uses the JS fast mode (LOCALNET_CONTRACTS=js).
process.env.LOCALNET_CONTRACTS = "wasm";

const test = anyTest as TestFn<TokenContext & { world?: World }>;
useTokenWorker(test);

const README = join(projectRoot, "contracts", "README.md");
const START = "<!-- gas-table:start -->";
const END = "<!-- gas-table:end -->";
/** A measured number may differ this much from the table (account ids differ in length between runs). */
const TOLERANCE = 0.1;
/** What a client attaches must cover this many times what the method burns. */
const MARGIN = 2n;
/** nearcore's max_gas_burnt_view: the budget of a view call such as the proxy's. */
const VIEW_GAS = 300n * TGAS;

interface Measured {
  method: string;
  call: string;
  /** Gas burnt by the token's receipt of the call (its VM work plus the receipt's execution fees). */
  receipt: bigint;
  /** Gas burnt by the whole transaction, every receipt included. */
  total: bigint;
}

function measure(method: string, call: string, result: TransactionResult, token: NearAccount): Measured {
  if (!result.succeeded) throw new Error(`${method} failed: ${JSON.stringify(result.Failure)}`);
  const [, first] = result.outcomesWithId;
  if (first?.outcome.executor_id !== token.accountId)
    throw new Error(`${method}: first receipt is not the token's`);
  const total = result.outcomesWithId.reduce((sum, o) => sum + BigInt(o.outcome.gas_burnt), 0n);
  return { method, call, receipt: BigInt(first.outcome.gas_burnt), total };
}

const tgas = (gas: bigint) => (Number(gas) / 1e12).toFixed(1);

function table(rows: Measured[]): string {
  const lines = [
    "| method | call measured | Tgas, token receipt | Tgas, whole transaction |",
    "|---|---|---:|---:|",
    ...rows.map((r) => `| \`${r.method}\` | ${r.call} | ${tgas(r.receipt)} | ${tgas(r.total)} |`),
  ];
  return lines.join("\n");
}

function readTable(): Map<string, [number, number]> {
  const text = readFileSync(README, "utf8");
  const body = text.slice(text.indexOf(START), text.indexOf(END));
  const rows = new Map<string, [number, number]>();
  for (const m of body.matchAll(/^\| `([a-z0-9_]+)` \|[^|]*\| ([\d.]+) \| ([\d.]+) \|$/gm))
    rows.set(m[1] as string, [Number(m[2]), Number(m[3])]);
  return rows;
}

function writeTable(rows: Measured[]): void {
  const text = readFileSync(README, "utf8");
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${README} has no ${START} … ${END} block`);
  writeFileSync(README, `${text.slice(0, start + START.length)}\n${table(rows)}\n${text.slice(end)}`);
}

/** Runs every method once, in an order where each has what it needs. */
async function measureAll(t: { context: TokenContext }, world: World): Promise<Measured[]> {
  const { root } = t.context;
  const { token, owner, alice, bob } = world;
  const rows: Measured[] = [];
  const add = async (method: string, call: string, run: () => Promise<TransactionResult>) =>
    rows.push(measure(method, call, await run(), token));

  // `new` on a second token, called by the contract account itself (deployed, not yet initialised).
  const fresh = await newAccount(root, "fresh", 50n * NEAR);
  await fresh.deploy(readFileSync(await tokenBundle()));
  rows.push(
    measure(
      "new",
      "initialise, mint the supply",
      await fresh.callRaw(fresh, "new", {
        owner_id: owner.accountId,
        total_supply: "1000000000",
        metadata: METADATA,
      }),
      fresh,
    ),
  );

  const carol = await newAccount(root, "carol");
  const bounds = await token.view<{ min: string }>("storage_balance_bounds");
  await add("storage_deposit", "register a new account", () =>
    carol.callRaw(token, "storage_deposit", {}, { attachedDeposit: BigInt(bounds.min) }),
  );
  await add("ft_transfer", "owner to a registered account", () =>
    owner.callRaw(
      token,
      "ft_transfer",
      { receiver_id: alice.accountId, amount: "10000" },
      { attachedDeposit: ONE_YOCTO },
    ),
  );
  const receiver = await newAccount(root, "receiver", 20n * NEAR);
  await receiver.deploy(readFileSync(await receiverBundle()));
  await receiver.callRaw(token, "storage_deposit", {}, { attachedDeposit: BigInt(bounds.min) });
  await add(
    "ft_transfer_call",
    "to a near-sdk-js receiver that returns part (ft_resolve_transfer included)",
    () =>
      alice.callRaw(
        token,
        "ft_transfer_call",
        { receiver_id: receiver.accountId, amount: "100", msg: "return:40" },
        { attachedDeposit: ONE_YOCTO, gas: MAX_GAS },
      ),
  );
  await add("storage_unregister", "an account with a zero balance", () =>
    carol.callRaw(token, "storage_unregister", {}, { attachedDeposit: ONE_YOCTO }),
  );
  await add("set_token_price", "owner", () =>
    owner.callRaw(token, "set_token_price", { price: (10n ** 18n).toString() }),
  );
  await add("buy_tokens_for_near", "1 NEAR at 10^18 yoctoNEAR per unit", () =>
    bob.callRaw(token, "buy_tokens_for_near", {}, { attachedDeposit: NEAR }),
  );
  const signer = randomWallet();
  await add("set_refund_signers", "one signer", () =>
    owner.callRaw(token, "set_refund_signers", { signers: [signer.address] }),
  );
  await add("set_operator", "owner", () =>
    owner.callRaw(token, "set_operator", { operator_id: bob.accountId }),
  );
  const { id, result } = await openConversation(world, alice, 1000n);
  rows.push(
    measure("start_ai_conversation", "open a 1000-unit escrow (deposit refund included)", result, token),
  );
  await add("view_ai_conversation", "as a transaction (what the proxy's view costs)", () =>
    alice.callRaw(token, "view_ai_conversation", { conversation_id: id }),
  );
  const signed = await signRefund(await refundMessageFor(world, id, 400n), signer);
  await add("refund_unspent", "pay back 400 of 1000 (ecrecover, two balances, tombstone)", () =>
    alice.callRaw(token, "refund_unspent", { ...signed }, { gas: REFUND_GAS }),
  );
  await add("list_ai_conversations", "as a transaction: one page of an account's escrows", () =>
    alice.callRaw(token, "list_ai_conversations", { account_id: alice.accountId }),
  );
  await add("set_conversation_expiry", "owner", () =>
    owner.callRaw(token, "set_conversation_expiry", { min_secs: 1, default_secs: 5, max_secs: 3600 }),
  );
  const short = await openConversation(world, alice, 300n);
  await t.context.worker.provider.fastForward(10);
  await add("reclaim_expired_conversation", "the opener takes an expired escrow back", () =>
    alice.callRaw(token, "reclaim_expired_conversation", { conversation_id: short.id }),
  );
  await add("withdraw_near", "owner takes the sale proceeds (transfer and callback included)", () =>
    owner.callRaw(token, "withdraw_near", {}, { attachedDeposit: ONE_YOCTO, gas: 100n * TGAS }),
  );
  const body = Buffer.from("<h1>hello</h1>").toString("base64");
  await add("post_web4_bundle", "one small asset", () =>
    owner.callRaw(token, "post_web4_bundle", {
      reset: true,
      assets: { "/index.html": { contentType: "text/html", body } },
    }),
  );
  await add("web4_get", "as a transaction: the index page", () =>
    alice.callRaw(token, "web4_get", { request: { path: "/" } }),
  );
  await add("ft_balance_of", "as a transaction", () =>
    alice.callRaw(token, "ft_balance_of", { account_id: alice.accountId }),
  );
  await add("ft_metadata", "as a transaction", () => alice.callRaw(token, "ft_metadata", {}));
  await add("get_config", "as a transaction", () => alice.callRaw(token, "get_config", {}));
  return rows;
}

test.serial("the gas table in contracts/README.md is what the token's WASM burns", async (t) => {
  t.is(deployedArtifact(), "wasm");
  const world = await deployToken(t.context.root);
  t.context.world = world;
  await transfer(world, world.owner, world.alice, 1n);
  const rows = await measureAll(t, world);
  t.log(`\n${table(rows)}`);
  if (process.env.UPDATE_GAS_TABLE) writeTable(rows);
  const documented = readTable();
  t.deepEqual(
    [...documented.keys()],
    rows.map((r) => r.method),
    "the table lists exactly the measured methods",
  );
  for (const r of rows) {
    const [receipt, total] = documented.get(r.method) ?? [0, 0];
    for (const [what, doc, now] of [
      ["token receipt", receipt, Number(r.receipt) / 1e12],
      ["whole transaction", total, Number(r.total) / 1e12],
    ] as const) {
      t.true(
        Math.abs(now - doc) <= Math.max(0.2, doc * TOLERANCE),
        `${r.method} (${what}): the table says ${doc} Tgas, the WASM burns ${now.toFixed(2)} now`,
      );
    }
  }

  // What the web app and the proxy attach covers the method with margin (web4/src/contract.ts).
  const burnt = (method: string) => rows.find((r) => r.method === method)?.receipt ?? 0n;
  for (const method of [
    "storage_deposit",
    "buy_tokens_for_near",
    "start_ai_conversation",
    "reclaim_expired_conversation",
  ]) {
    t.true(
      CALL_GAS >= MARGIN * burnt(method),
      `the web app attaches ${tgas(CALL_GAS)} Tgas to ${method}, which burns ${tgas(burnt(method))}`,
    );
  }
  t.true(
    REFUND_GAS >= MARGIN * burnt("refund_unspent"),
    `refund_unspent burns ${tgas(burnt("refund_unspent"))}`,
  );
  // The proxy reads conversations with view calls, which nearcore runs with max_gas_burnt_view.
  t.true(VIEW_GAS >= MARGIN * burnt("view_ai_conversation"));
});
