// Deploying the token: T15 (nobody can initialise it but its own account, and no deploy path leaves
// a window between the code and `new`), and upgrades that keep the state (scripts/lib/deploy.ts, the
// code behind `npm start` and `npm run deploy`).
import { readFileSync } from "node:fs";
import anyTest, { type TestFn } from "ava";
import { Account, JsonRpcProvider, type KeyPairString } from "near-api-js";
import type { NearAccount } from "near-workspaces";
import { codeHash, deployToken as deployWithScripts } from "#internal/scripts/lib/deploy";
import { signRefund } from "#wire/crypto";
import {
  balanceOf,
  deployAndInit,
  deployToken,
  METADATA,
  NEAR,
  newAccount,
  openConversation,
  panics,
  randomWallet,
  rebuilt,
  refundMessageFor,
  registerAccount,
  type TokenContext,
  tokenBundle,
  transfer,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext & { world?: World }>;

// Every test leaves the supply invariant intact.
useTokenWorker(test);

const rpcUrlOf = (t: { context: TokenContext }) =>
  (t.context.worker.provider as unknown as { connection: { url: string } }).connection.url;

/** A near-api-js Account for a near-workspaces one (same key), as the deploy scripts use. */
async function apiAccount(t: { context: TokenContext }, account: NearAccount) {
  const key = (await account.getKey())?.toString() as KeyPairString;
  const provider = new JsonRpcProvider({ url: rpcUrlOf(t) });
  return { account: new Account(account.accountId, provider, key), provider };
}

const newArgs = (owner: string) => ({ owner_id: owner, total_supply: "1000000", metadata: METADATA });

test.serial("T15 init takeover: only the contract account can call new", async (t) => {
  const owner = await newAccount(t.context.root, "owner");
  const attacker = await newAccount(t.context.root, "attacker");
  const token = await newAccount(t.context.root, "token", 50n * NEAR);
  // Code deployed on its own (by hand, or a tool that initialises later): the window T15 is about.
  await token.deploy(readFileSync(await tokenBundle()));
  await panics(
    t,
    attacker.call(token, "new", newArgs(attacker.accountId)),
    `new can only be called by ${token.accountId} itself`,
  );
  await panics(t, owner.call(token, "new", newArgs(owner.accountId)), "new can only be called by");
  await panics(t, token.view("get_config"), "The contract is not initialized");
  // The contract account itself still can, and then nobody can again.
  await token.call(token, "new", newArgs(owner.accountId));
  await panics(t, attacker.call(token, "new", newArgs(attacker.accountId)), "Contract already initialized");
  t.is((await token.view<{ owner_id: string }>("get_config")).owner_id, owner.accountId);
  t.context.world = { root: t.context.root, token, owner, alice: owner, bob: owner, conversations: [] };
});

test.serial("T15 the test helpers send DeployContract and new in one transaction", async (t) => {
  const owner = await newAccount(t.context.root, "owner");
  const token = await newAccount(t.context.root, "token", 50n * NEAR);
  const result = await deployAndInit(token, owner);
  t.true(result.succeeded);
  const actions = (result.result.transaction as { actions: unknown[] }).actions.map((a) =>
    typeof a === "string" ? a : Object.keys(a as object)[0],
  );
  t.deepEqual(actions, ["DeployContract", "FunctionCall"]);
  t.is(result.result.transaction.signer_id, token.accountId);
  t.is((await token.view<{ owner_id: string }>("get_config")).owner_id, owner.accountId);
  t.context.world = { root: t.context.root, token, owner, alice: owner, bob: owner, conversations: [] };
});

test.serial(
  "T15 npm start / npm run deploy: an attacker calling new after every transaction of the deploy never wins",
  async (t) => {
    const owner = await newAccount(t.context.root, "owner");
    const attacker = await newAccount(t.context.root, "attacker");
    const token = await newAccount(t.context.root, "token", 50n * NEAR);
    const { account: contract, provider } = await apiAccount(t, token);
    const { account: ownerAccount } = await apiAccount(t, owner);
    // Front-run: right after each transaction the deploy sends, before its next one.
    const sent: string[][] = [];
    const attempts: string[] = [];
    for (const account of [contract, ownerAccount]) {
      const send = account.signAndSendTransaction.bind(account);
      account.signAndSendTransaction = async (tx) => {
        const outcome = await send(tx);
        sent.push(tx.actions.map((a) => a.enum));
        const raced = await attacker.callRaw(token, "new", newArgs(attacker.accountId));
        attempts.push(raced.failed ? "refused" : "TAKEN");
        return outcome;
      };
    }
    const code = readFileSync(await tokenBundle());
    const deployed = await deployWithScripts({
      provider,
      contract,
      owner: ownerAccount,
      code,
      totalSupply: "1000000",
      tokenPrice: "1",
      refundSigners: [randomWallet().address],
      web4Config: { proxy_url: "http://127.0.0.1:1", network: "localnet", rpc_url: rpcUrlOf(t) },
      log: () => {},
    }).then(
      () => "deployed",
      (e: Error) => e.message,
    );
    t.deepEqual(
      attempts.filter((a) => a !== "refused"),
      [],
      "every front-run new was refused",
    );
    t.true(attempts.length >= 2, `the attacker tried ${attempts.length} times`);
    t.is(deployed, "deployed");
    t.deepEqual(sent[0], ["deployContract", "functionCall"], "code and new in the first transaction");
    const config = await token.view<{ owner_id: string; token_price: string }>("get_config");
    t.like(config, { owner_id: owner.accountId, token_price: "1" });
    t.context.world = { root: t.context.root, token, owner, alice: owner, bob: owner, conversations: [] };
  },
);

test.serial(
  "deploy scripts: an upgrade keeps balances, conversations and the deployment nonce",
  async (t) => {
    const w = await deployToken(t.context.root);
    t.context.world = w;
    const signer = randomWallet();
    await w.owner.call(w.token, "set_refund_signers", { signers: [signer.address] });
    await transfer(w, w.owner, w.alice, 10_000n);
    const { id } = await openConversation(w, w.alice, 1000n);
    const signedBefore = await signRefund(await refundMessageFor(w, id, 300n), signer);
    const before = await w.token.view<{ deployment: string }>("get_config");

    const { account: contract, provider } = await apiAccount(t, w.token);
    const { account: owner } = await apiAccount(t, w.owner);
    const upgraded = rebuilt(readFileSync(await tokenBundle()), "upgrade");
    const lines: string[] = [];
    const deploy = () =>
      deployWithScripts({
        provider,
        contract,
        owner,
        code: upgraded,
        totalSupply: "1",
        tokenPrice: "0",
        refundSigners: [signer.address],
        web4Config: { proxy_url: "", network: "", rpc_url: "" },
        log: (l) => lines.push(l),
      });
    await deploy();
    t.regex(
      lines.join("\n"),
      /contract code: upgraded to .* with migrate in the same transaction; state kept/,
    );
    t.is((await w.token.accountView()).code_hash, codeHash(upgraded));
    t.is((await w.token.view<{ deployment: string }>("get_config")).deployment, before.deployment);
    t.is(await balanceOf(w.token, w.alice), 9_000n);
    t.like(await w.token.view("view_ai_conversation", { conversation_id: id }), { status: "open" });
    // A refund signed before the upgrade still pays: same deployment, same escrow.
    await w.alice.call(w.token, "refund_unspent", { ...signedBefore });
    t.is(await balanceOf(w.token, w.alice), 9_300n);
    lines.length = 0;
    await deploy();
    t.regex(lines.join("\n"), /= contract code: up to date/);

    // Someone else's contract at that id: the deploy stops instead of configuring it.
    const stranger = await newAccount(t.context.root, "stranger");
    const { account: strangerOwner } = await apiAccount(t, stranger);
    const err = await t.throwsAsync(
      deployWithScripts({
        provider,
        contract,
        owner: strangerOwner,
        code: upgraded,
        totalSupply: "1",
        tokenPrice: "0",
        refundSigners: [],
        web4Config: { proxy_url: "", network: "", rpc_url: "" },
        log: () => {},
      }),
    );
    t.regex(err?.message ?? "", /already initialised with owner .*, not stranger/);
  },
);

test.serial(
  "upgrade from escrow v1 state: migrate draws the deployment nonce; v1 conversations get the default expiry",
  async (t) => {
    const w = await deployToken(t.context.root);
    t.context.world = w;
    await transfer(w, w.owner, w.alice, 1000n);
    const { id } = await openConversation(w, w.alice, 400n);
    // What a v1 contract's state looks like: no deployment nonce, no expiry bounds, records without x.
    const raw = async (key: string) => {
      const entry = (await w.token.viewStateRaw()).find(
        (e) => Buffer.from(e.key, "base64").toString() === key,
      );
      return JSON.parse(Buffer.from(entry?.value ?? "", "base64").toString());
    };
    const state = await raw("STATE");
    delete state.deployment;
    delete state.conversation_expiry;
    await w.token.patchState("STATE", JSON.stringify(state));
    const record = await raw(`c${id}`);
    delete record.x;
    await w.token.patchState(`c${id}`, JSON.stringify(record));

    const { account: contract, provider } = await apiAccount(t, w.token);
    const { account: owner } = await apiAccount(t, w.owner);
    await deployWithScripts({
      provider,
      contract,
      owner,
      code: rebuilt(readFileSync(await tokenBundle()), "v2"),
      totalSupply: "1",
      tokenPrice: "0",
      refundSigners: [],
      web4Config: { proxy_url: "", network: "", rpc_url: "" },
      log: () => {},
    });
    const config = await w.token.view<{ deployment: string; conversation_expiry: { default_secs: number } }>(
      "get_config",
    );
    t.regex(config.deployment, /^[0-9a-f]{32}$/);
    const view = await w.token.view<{ created_at: string; expires_at: string; status: string }>(
      "view_ai_conversation",
      { conversation_id: id },
    );
    t.is(
      BigInt(view.expires_at) - BigInt(view.created_at),
      BigInt(config.conversation_expiry.default_secs) * 10n ** 9n,
    );
    t.is(view.status, "open");
    // migrate is the contract's own: nobody else can re-run it.
    await panics(t, w.alice.call(w.token, "migrate", {}), "Function is private");
    const bob = await newAccount(t.context.root, "late");
    await registerAccount(w.token, bob);
  },
);
