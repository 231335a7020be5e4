// Shared set-up for the token contract suites: one near-workspaces Worker per test file (t.context),
// a fresh token contract and fresh accounts per test, and the supply invariant read from raw state.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ExecutionContext, TestFn } from "ava";
import { Wallet } from "ethers";
import { type NearAccount, Worker } from "near-workspaces";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import type { ConversationView, RefundMessage } from "#wire";
import { deployableContract, deployableToken } from "./contracts.js";
import { useLocalnet } from "./localnet.js";

process.env.NEAR_WORKSPACES_NO_LOGS ??= "1";

export const TGAS = 10n ** 12n;
export const NEAR = 10n ** 24n;
export const ONE_YOCTO = 1n;
export const MAX_GAS = 300n * TGAS;
export const TOTAL_SUPPLY = 1_000_000_000n;
export const METADATA = { spec: "ft-1.0.0", name: "AI Credits", symbol: "AIC", decimals: 6 };

export interface TokenContext {
  worker: Worker;
  root: NearAccount;
}

export interface World {
  root: NearAccount;
  token: NearAccount;
  owner: NearAccount;
  alice: NearAccount;
  bob: NearAccount;
  /** Conversation ids this test opened; the invariant re-reads them. */
  conversations: string[];
}

/**
 * The same contract with a different code hash, as an upgrade would deploy: a trailing comment in a JS
 * bundle, a trailing custom section (id 0, ignored by the VM) in a WASM module.
 */
export function rebuilt(code: Uint8Array, label: string): Buffer {
  const isWasm = code[0] === 0 && Buffer.from(code.subarray(1, 4)).toString() === "asm";
  if (!isWasm) return Buffer.concat([code, Buffer.from(`\n// ${label}\n`)]);
  const name = Buffer.from(label);
  // Section size = name length byte + name (labels stay under 128 bytes: one-byte LEB128s).
  return Buffer.concat([code, Buffer.from([0, name.length + 1, name.length]), name]);
}

/** contracts/token as the configured sandbox deploys it (JS bundle on localnet, WASM on near-sandbox). */
export const tokenBundle = deployableToken;

export const receiverBundle = () => deployableContract("ft-receiver");

export async function initWorker(): Promise<TokenContext> {
  useLocalnet();
  const worker = await Worker.init();
  return { worker, root: worker.rootAccount };
}

/**
 * One localnet worker per test file (near-workspaces style) and the supply invariant checked after
 * every test, on the world (or worlds) the test put in its context.
 */
export function useTokenWorker<C extends TokenContext & { world?: World; worlds?: World[] }>(
  test: TestFn<C>,
): void {
  test.before(async (t) => {
    Object.assign(t.context, await initWorker());
  });
  test.after.always(async (t) => {
    await t.context.worker?.tearDown().catch(() => {});
  });
  test.afterEach(async (t) => {
    for (const world of [t.context.world, ...(t.context.worlds ?? [])])
      if (world) await assertInvariant(t as never, world);
  });
}

let counter = 0;
const unique = (name: string) => `${name}${counter++}${process.pid % 1000}`;

export async function newAccount(
  root: NearAccount,
  name: string,
  balance = 100n * NEAR,
): Promise<NearAccount> {
  return root.createSubAccount(unique(name), { initialBalance: balance });
}

/**
 * DeployContract + `new` in one transaction signed by the token account itself (T15): there is no
 * moment at which the code is on chain and uninitialised. Returns the transaction's result.
 */
export async function deployAndInit(
  token: NearAccount,
  owner: NearAccount | string,
  supply: bigint = TOTAL_SUPPLY,
  code?: Uint8Array,
) {
  return token
    .batch(token)
    .deployContract(code ?? readFileSync(await tokenBundle()))
    .functionCall(
      "new",
      {
        owner_id: typeof owner === "string" ? owner : owner.accountId,
        total_supply: supply.toString(),
        metadata: METADATA,
      },
      { gas: MAX_GAS },
    )
    .transact();
}

export async function deployToken(
  root: NearAccount,
  { register = true, supply = TOTAL_SUPPLY }: { register?: boolean; supply?: bigint } = {},
): Promise<World> {
  // Sequential: every account is created by root, and parallel transactions from one key race on nonces.
  const owner = await newAccount(root, "owner");
  const alice = await newAccount(root, "alice");
  const bob = await newAccount(root, "bob");
  const token = await newAccount(root, "token", 50n * NEAR);
  const init = await deployAndInit(token, owner, supply);
  if (init.failed) throw new Error(`deploy + new failed: ${JSON.stringify(init.Failure)}`);
  if (register) {
    for (const account of [alice, bob]) await registerAccount(token, account);
  }
  return { root, token, owner, alice, bob, conversations: [] };
}

export async function registerAccount(token: NearAccount, account: NearAccount): Promise<void> {
  const bounds = await token.view<{ min: string }>("storage_balance_bounds");
  await account.call(token, "storage_deposit", {}, { attachedDeposit: BigInt(bounds.min) });
}

export const balanceOf = async (token: NearAccount, account: NearAccount | string) =>
  BigInt(
    await token.view<string>("ft_balance_of", {
      account_id: typeof account === "string" ? account : account.accountId,
    }),
  );

export async function transfer(world: World, from: NearAccount, to: NearAccount, amount: bigint) {
  await from.call(
    world.token,
    "ft_transfer",
    { receiver_id: to.accountId, amount: amount.toString() },
    { attachedDeposit: ONE_YOCTO },
  );
}

/** A conversation secret as the web app and the CLI draw it: 32 random bytes as 64 hex characters. */
export const newConversationSecret = () => randomBytes(32).toString("hex");

/** hex(sha256(utf8(secret))): the proxy's own function (the web app and contracts/README do the same). */
export function conversationId(secret = newConversationSecret()): string {
  return conversationIdFromSecret(secret);
}

/**
 * The v2 refund message the proxy would sign for conversation `id` of `world`: deployment from
 * get_config, deposit and created_at from view_ai_conversation. `overrides` forge any field.
 */
export async function refundMessageFor(
  world: World,
  id: string,
  refund: bigint | string,
  overrides: Partial<RefundMessage> = {},
): Promise<RefundMessage> {
  const { deployment } = await world.token.view<{ deployment: string }>("get_config");
  const view = await world.token.view<ConversationView | null>("view_ai_conversation", {
    conversation_id: id,
  });
  return {
    contract_id: world.token.accountId,
    deployment,
    conversation_id: id,
    receiver_id: view?.receiver_id ?? world.alice.accountId,
    deposit: view?.deposit ?? "0",
    created_at: view?.created_at ?? "0",
    refund_amount: refund.toString(),
    ...overrides,
  };
}

/** Opens a conversation with a generous deposit (the contract refunds what the record does not cost). */
export async function openConversation(
  world: World,
  who: NearAccount,
  amount: bigint,
  id = conversationId(),
  extra: { expires_in_secs?: number } = {},
) {
  const result = await who.callRaw(
    world.token,
    "start_ai_conversation",
    { conversation_id: id, amount: amount.toString(), ...extra },
    { attachedDeposit: NEAR / 10n },
  );
  if (result.failed) throw new Error(`start_ai_conversation failed: ${JSON.stringify(result.Failure)}`);
  world.conversations.push(id);
  return { id, result };
}

/**
 * Moves block time at least `seconds` ahead with sandbox_fast_forward (localnet and nearcore's sandbox
 * both add 1.3 s per fast-forwarded block).
 */
export async function passTime(worker: Worker, seconds: number): Promise<void> {
  await worker.provider.fastForward(Math.ceil(seconds / 1.3) + 1);
}

/** NEP-297 events of a result, parsed. */
export function eventsOf(
  logs: string[],
): { standard: string; version: string; event: string; data: Record<string, string>[] }[] {
  return logs
    .filter((l) => l.startsWith("EVENT_JSON:"))
    .map((l) => JSON.parse(l.slice("EVENT_JSON:".length)));
}

/** Rejects with a panic whose reason matches `reason`. */
export async function panics(t: ExecutionContext, call: Promise<unknown>, reason: RegExp | string) {
  const err = await t.throwsAsync(call);
  const text = err?.message ?? "";
  t.true(text.includes("Smart contract panicked"), `expected a contract panic, got: ${text.slice(0, 400)}`);
  const ok = typeof reason === "string" ? text.includes(reason) : reason.test(text);
  t.true(ok, `expected panic matching ${reason}, got: ${text.slice(0, 600)}`);
  t.false(hasStackTrace(text), `the panic carries a QuickJS stack trace: ${text.slice(0, 600)}`);
}

/** "…at fail (contract.js:3368:18)": what near-sdk-js's builder appends to an uncaught exception. */
export const hasStackTrace = (text: string) => /\.js:\d+:\d+|\n\s+at |\\n\s+at /.test(text);

/**
 * Supply invariant, from the contract's raw state (so it covers every account, not only the ones
 * this test knows): sum of balances ("b" keys) + open escrow ("c" records not yet refunded or
 * reclaimed) == ft_total_supply; the escrow also equals ft_balance_of(contract) and
 * get_config.escrow_total; every conversation is in its opener's index ("i" keys) exactly once.
 */
export async function assertInvariant(t: ExecutionContext, world: World): Promise<void> {
  const state = await world.token.viewStateRaw();
  let balances = 0n;
  let escrow = 0n;
  const records = new Map<string, string>();
  const indexed: string[] = [];
  for (const { key, value } of state) {
    // near-workspaces hands state keys and values over base64-encoded, as the RPC does.
    const k = Buffer.from(key, "base64").toString("utf8");
    const v = Buffer.from(value, "base64").toString("utf8");
    if (k.startsWith("b")) balances += BigInt(v);
    else if (k.startsWith("c")) {
      const record = JSON.parse(v) as { r: string; a: string; s?: string };
      records.set(k.slice(1), record.r);
      if (record.s === undefined) escrow += BigInt(record.a);
    } else if (k.startsWith("i")) indexed.push(`${k.slice(1, k.indexOf("#"))}/${v}`);
  }
  const supply = BigInt(await world.token.view<string>("ft_total_supply"));
  t.is(balances + escrow, supply, "sum of balances + open escrow == total supply");
  t.is(
    await balanceOf(world.token, world.token.accountId),
    escrow,
    "escrow reported as the contract's balance",
  );
  t.is((await world.token.view<{ escrow_total: string }>("get_config")).escrow_total, escrow.toString());
  t.deepEqual(
    indexed.sort(),
    [...records].map(([id, opener]) => `${opener}/${id}`).sort(),
    "every conversation is in its opener's index once",
  );
  for (const id of world.conversations) {
    const view = await world.token.view<{ status: string } | null>("view_ai_conversation", {
      conversation_id: id,
    });
    t.truthy(view, `conversation ${id} still readable`);
  }
}

/** A plain ethers Wallet (Wallet.createRandom() returns an HDNodeWallet). */
export const randomWallet = () => new Wallet(Wallet.createRandom().privateKey);
