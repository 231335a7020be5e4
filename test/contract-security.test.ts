// Threats T01–T07 and T16 (docs: SECURITY.md), each shown with an attack, not only the happy path.
import { readFileSync } from "node:fs";
import anyTest, { type ExecutionContext, type TestFn } from "ava";

import type { Wallet } from "ethers";
import { signRefund } from "#wire/crypto";
import {
  balanceOf,
  conversationId,
  deployAndInit,
  deployToken,
  MAX_GAS,
  NEAR,
  newAccount,
  ONE_YOCTO,
  openConversation,
  panics,
  randomWallet,
  receiverBundle,
  refundMessageFor,
  registerAccount,
  TOTAL_SUPPLY,
  type TokenContext,
  transfer,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext & { worlds: World[] }>;

// Every test leaves the supply invariant intact, on each world it made.
useTokenWorker(test);
test.beforeEach((t) => {
  t.context.worlds = [];
});

async function setup(t: { context: TokenContext & { worlds: World[] } }) {
  const world = await deployToken(t.context.root);
  const signer = randomWallet();
  await world.owner.call(world.token, "set_refund_signers", { signers: [signer.address] });
  await transfer(world, world.owner, world.alice, 10_000n);
  t.context.worlds.push(world);
  return { w: world, signer };
}

const message = (w: World, id: string, refund: string, receiver?: string) =>
  refundMessageFor(w, id, refund, receiver ? { receiver_id: receiver } : {});

/** Signs an arbitrary (possibly malformed) message exactly as the proxy would sign a good one. */
async function signRaw(wallet: Wallet, refund_message: string) {
  return { refund_message, signature: await wallet.signMessage(refund_message) };
}

test.serial(
  "T01 refund replay: once only, not after re-opening the id, not on another contract",
  async (t) => {
    const { w, signer } = await setup(t);
    const { id } = await openConversation(w, w.alice, 1000n);
    const signed = await signRefund(await message(w, id, "1000"), signer);
    await w.alice.call(w.token, "refund_unspent", { ...signed });
    await panics(t, w.alice.call(w.token, "refund_unspent", { ...signed }), "was already refunded");
    // The id is a tombstone: it cannot be opened again, so the old signature can never match a new escrow.
    await panics(
      t,
      w.alice.call(
        w.token,
        "start_ai_conversation",
        { conversation_id: id, amount: "1000" },
        { attachedDeposit: NEAR / 10n },
      ),
      "was already used",
    );
    await panics(t, w.alice.call(w.token, "refund_unspent", { ...signed }), "was already refunded");
    t.is(await balanceOf(w.token, w.alice), 10_000n, "refunded exactly once");

    // A second deployment trusting the same signer: the same id opened there, the first contract's
    // message submitted there fails on contract_id.
    const other = await deployToken(t.context.root);
    t.context.worlds.push(other);
    await other.owner.call(other.token, "set_refund_signers", { signers: [signer.address] });
    await transfer(other, other.owner, other.alice, 5_000n);
    await openConversation(other, other.alice, 1000n, id);
    const forFirst = await signRefund(await message(w, id, "1000", other.alice.accountId), signer);
    await panics(
      t,
      other.alice.call(other.token, "refund_unspent", { ...forFirst }),
      `refund_message is for contract ${w.token.accountId}`,
    );
  },
);

/**
 * Wipes the token account and deploys again at the same id (a wiped localnet, a deleted and recreated
 * account): same owner, same refund signer, alice registered and funded again.
 */
async function redeploy(t: ExecutionContext<TokenContext & { worlds: World[] }>, w: World, signer: Wallet) {
  const prefix = w.token.accountId.slice(0, -`.${t.context.root.accountId}`.length);
  await w.token.delete(t.context.root.accountId);
  const token = await t.context.root.createSubAccount(prefix, { initialBalance: 50n * NEAR });
  t.is(token.accountId, w.token.accountId, "same account id");
  const again = await deployAndInit(token, w.owner);
  t.true(again.succeeded, JSON.stringify(again.Failure));
  const world: World = { ...w, token, conversations: [] };
  await w.owner.call(token, "set_refund_signers", { signers: [signer.address] });
  await registerAccount(token, w.alice);
  await transfer(world, w.owner, w.alice, 10_000n);
  t.context.worlds = [world];
  return world;
}

test.serial(
  "T16 refund replay across deployments: a message signed before a redeploy at the same id never pays after it",
  async (t) => {
    const { w, signer } = await setup(t);
    const { id } = await openConversation(w, w.alice, 5000n);
    // The proxy signed "refund everything" for this escrow (the user never submitted it).
    const before = await signRefund(await message(w, id, "5000"), signer);
    const first = await w.token.view<{ deployment: string }>("get_config");

    const w2 = await redeploy(t, w, signer);
    // The attacker reuses the secret: same id, same deposit, served by the proxy, then replays.
    await openConversation(w2, w2.alice, 5000n, id);
    await panics(
      t,
      w2.alice.call(w2.token, "refund_unspent", { ...before }),
      `refund_message is for deployment ${first.deployment}`,
    );
    t.is(await balanceOf(w2.token, w2.alice), 5_000n, "nothing paid");
    t.not((await w2.token.view<{ deployment: string }>("get_config")).deployment, first.deployment);
    t.like(await w2.token.view("view_ai_conversation", { conversation_id: id }), { status: "open" });
    // The message the proxy signs for the escrow now on chain pays as usual.
    await w2.alice.call(w2.token, "refund_unspent", {
      ...(await signRefund(await message(w2, id, "14"), signer)),
    });
    t.is(await balanceOf(w2.token, w2.alice), 5_014n);
  },
);

test.serial(
  "T16 an earlier escrow's refund fails on a later escrow under the same id (deployment nonce restored)",
  async (t) => {
    const { w, signer } = await setup(t);
    const { id } = await openConversation(w, w.alice, 5000n);
    const before = await signRefund(await message(w, id, "5000"), signer);
    const backup = (await w.token.viewStateRaw()).find(
      (e) => Buffer.from(e.key, "base64").toString() === "STATE",
    );
    // Redeployed, then the operator restores its configuration from a backup of STATE: the
    // deployment nonce is the old one again, the conversation records are gone.
    const w2 = await redeploy(t, w, signer);
    const restored = JSON.parse(Buffer.from(backup?.value ?? "", "base64").toString());
    const current = JSON.parse(
      Buffer.from(
        (await w2.token.viewStateRaw()).find((e) => Buffer.from(e.key, "base64").toString() === "STATE")
          ?.value ?? "",
        "base64",
      ).toString(),
    );
    await w2.token.patchState("STATE", JSON.stringify({ ...current, deployment: restored.deployment }));
    t.is((await w2.token.view<{ deployment: string }>("get_config")).deployment, restored.deployment);

    await openConversation(w2, w2.alice, 5000n, id);
    await panics(t, w2.alice.call(w2.token, "refund_unspent", { ...before }), "names another escrow");
    t.is(await balanceOf(w2.token, w2.alice), 5_000n, "nothing paid");
  },
);

test.serial("T02 over-refund and malformed amounts panic and leave the escrow open", async (t) => {
  const { w, signer } = await setup(t);
  const { id } = await openConversation(w, w.alice, 1000n);
  await panics(
    t,
    w.alice.call(w.token, "refund_unspent", {
      ...(await signRaw(signer, JSON.stringify(await message(w, id, "1001")))),
    }),
    "refund_amount 1001 exceeds the conversation deposit 1000",
  );
  const bad: [string, string][] = [
    ["-1", "must be a U128 decimal string"],
    ["1.5", "must be a U128 decimal string"],
    ["1e3", "must be a U128 decimal string"],
    ["0100", "must be a U128 decimal string"],
    [" 10", "must be a U128 decimal string"],
    [((1n << 128n) + 5n).toString(), "overflows u128"],
    ["9".repeat(60), "must be a U128 decimal string"],
  ];
  for (const [amount, reason] of bad) {
    const raw = JSON.stringify(await message(w, id, amount));
    await panics(t, w.alice.call(w.token, "refund_unspent", { ...(await signRaw(signer, raw)) }), reason);
  }
  t.like(await w.token.view("view_ai_conversation", { conversation_id: id }), {
    status: "open",
    deposit: "1000",
  });
  t.is(await balanceOf(w.token, w.alice), 9_000n);
});

test.serial(
  "T03 forged signer: other keys, high-s, malformed signatures and messages, rotated-out signer",
  async (t) => {
    const { w, signer } = await setup(t);
    const { id } = await openConversation(w, w.alice, 1000n);
    const submit = (args: object) => w.alice.call(w.token, "refund_unspent", { ...args });
    const good = await signRefund(await message(w, id, "1000"), signer);

    await panics(
      t,
      submit(await signRefund(await message(w, id, "1000"), randomWallet())),
      "not from a configured refund signer",
    );
    // High-s: flip s to n - s and v.
    const sig = Buffer.from(good.signature.slice(2), "hex");
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${sig.subarray(32, 64).toString("hex")}`);
    const highS = Buffer.concat([
      sig.subarray(0, 32),
      Buffer.from((n - s).toString(16).padStart(64, "0"), "hex"),
      Buffer.from([sig[64] === 27 ? 28 : 27]),
    ]);
    await panics(
      t,
      submit({ ...good, signature: `0x${highS.toString("hex")}` }),
      "public key recovery failed",
    );

    const malformedSignatures: [unknown, string][] = [
      [good.signature.slice(0, -2), "0x-prefixed hex of 65 bytes"],
      [good.signature.slice(2), "0x-prefixed hex of 65 bytes"],
      [`${good.signature.slice(0, -2)}zz`, "0x-prefixed hex of 65 bytes"],
      [`${good.signature.slice(0, -2)}1d`, "v must be 27 or 28"],
      [`0x${"00".repeat(64)}1b`, "public key recovery failed"],
      [12345, "0x-prefixed hex of 65 bytes"],
    ];
    for (const [signature, reason] of malformedSignatures)
      await panics(t, submit({ ...good, signature }), reason);

    const full = await message(w, id, "1000");
    const canonical = JSON.stringify(full);
    const { receiver_id, ...rest } = full;
    const { deployment: _, ...v1Keys } = full;
    const malformedMessages: [unknown, string][] = [
      ["not json", "not valid JSON"],
      ["null", "must be a JSON object"],
      [canonical.replace(/,/g, ", "), "must be canonical JSON"],
      [JSON.stringify({ ...full, extra: 1 }), "must be canonical JSON"],
      [JSON.stringify({ ...full, refund_amount: 1000 }), "must be strings"],
      [JSON.stringify({ receiver_id, ...rest }), "must be canonical JSON"],
      [JSON.stringify(v1Keys), "must be strings"],
      [{ object: true }, "refund_message must be a string"],
    ];
    for (const [refund_message, reason] of malformedMessages) {
      const signature =
        typeof refund_message === "string"
          ? (await signRaw(signer, refund_message)).signature
          : good.signature;
      await panics(t, submit({ refund_message, signature }), reason);
    }

    // Rotation: a signer removed by the owner can no longer sign.
    const next = randomWallet();
    await w.owner.call(w.token, "set_refund_signers", { signers: [next.address] });
    await panics(t, submit(good), "not from a configured refund signer");
    await submit(await signRefund(await message(w, id, "1000"), next));
    t.is(await balanceOf(w.token, w.alice), 10_000n);
  },
);

test.serial(
  "T04 signer vs predecessor: a contract the user calls cannot open conversations with the user's tokens",
  async (t) => {
    const { w } = await setup(t);
    const thirdParty = await newAccount(t.context.root, "thirdparty");
    await thirdParty.deploy(readFileSync(await receiverBundle()));
    const id = conversationId();
    // alice signs a transaction to the third-party contract, which tries to spend from the token.
    const result = await w.alice.callRaw(
      thirdParty,
      "forward",
      {
        contract_id: w.token.accountId,
        method: "start_ai_conversation",
        args: { conversation_id: id, amount: "5000" },
      },
      { attachedDeposit: NEAR / 10n, gas: MAX_GAS },
    );
    t.true(result.receiptFailureMessagesContain(`The account ${thirdParty.accountId} is not registered`));
    t.is(await balanceOf(w.token, w.alice), 10_000n, "alice's tokens untouched");
    t.is(await w.token.view("view_ai_conversation", { conversation_id: id }), null);

    // Registered and funded, the third party spends its own tokens, and the escrow is its own.
    await registerAccount(w.token, thirdParty);
    await transfer(w, w.owner, thirdParty, 100n);
    await w.alice.call(
      thirdParty,
      "forward",
      {
        contract_id: w.token.accountId,
        method: "start_ai_conversation",
        args: { conversation_id: id, amount: "100" },
      },
      { attachedDeposit: NEAR / 10n, gas: MAX_GAS },
    );
    w.conversations.push(id);
    t.like(await w.token.view("view_ai_conversation", { conversation_id: id }), {
      receiver_id: thirdParty.accountId,
    });
    t.is(await balanceOf(w.token, w.alice), 10_000n);
    t.is(await balanceOf(w.token, thirdParty), 0n);

    // The same holds for ft_transfer: the predecessor pays.
    const forwarded = await w.alice.callRaw(
      thirdParty,
      "forward",
      {
        contract_id: w.token.accountId,
        method: "ft_transfer",
        args: { receiver_id: w.bob.accountId, amount: "1" },
      },
      { attachedDeposit: ONE_YOCTO, gas: MAX_GAS },
    );
    t.true(forwarded.receiptFailureMessagesContain("doesn't have enough balance"));
    t.is(await balanceOf(w.token, w.alice), 10_000n);
  },
);

test.serial(
  "T05 owner-only methods reject every other predecessor; callbacks reject external calls",
  async (t) => {
    const { w } = await setup(t);
    const calls: [string, Record<string, unknown>][] = [
      ["set_refund_signers", { signers: [randomWallet().address] }],
      ["set_token_price", { price: "1" }],
      ["set_operator", { operator_id: w.alice.accountId }],
      ["set_owner", { owner_id: w.alice.accountId }],
      ["set_web4_config", { proxy_url: "http://evil" }],
      ["post_web4_bundle", { assets: { "/index.html": { contentType: "text/html", body: "ZXZpbA==" } } }],
    ];
    for (const attacker of [w.alice, w.token]) {
      for (const [method, args] of calls) {
        await panics(t, attacker.call(w.token, method, args), "Only the owner can call this method");
      }
    }
    const config = await w.token.view<Record<string, unknown>>("get_config");
    t.like(config, {
      owner_id: w.owner.accountId,
      operator_id: w.owner.accountId,
      token_price: "0",
      web4_paths: [],
    });
    // ft_resolve_transfer would let anyone mint a "refund": it is private.
    await panics(
      t,
      w.alice.call(w.token, "ft_resolve_transfer", {
        sender_id: w.alice.accountId,
        receiver_id: w.owner.accountId,
        amount: "1000",
      }),
      "Function is private",
    );
    t.is(await balanceOf(w.token, w.alice), 10_000n);
  },
);

test.serial(
  "T06 NEP-141: exactly 1 yoctoNEAR, unused and panicking receivers refunded, unregistered rejected",
  async (t) => {
    const { w } = await setup(t);
    const receiver = await newAccount(t.context.root, "recv");
    await receiver.deploy(readFileSync(await receiverBundle()));
    await registerAccount(w.token, receiver);
    const xferCall = (msg: string, attachedDeposit = ONE_YOCTO, amount = "100") =>
      w.alice.callRaw(
        w.token,
        "ft_transfer_call",
        { receiver_id: receiver.accountId, amount, msg },
        { attachedDeposit, gas: MAX_GAS },
      );
    for (const deposit of [0n, 2n, NEAR]) {
      const r = await xferCall("", deposit);
      t.true(r.failed && JSON.stringify(r.Failure).includes("exactly 1 yoctoNEAR"), `deposit ${deposit}`);
      await panics(
        t,
        w.alice.call(
          w.token,
          "ft_transfer",
          { receiver_id: w.bob.accountId, amount: "1" },
          { attachedDeposit: deposit },
        ),
        "exactly 1 yoctoNEAR",
      );
    }
    const panicked = await xferCall("panic");
    t.true(panicked.receiptFailureMessagesContain("receiver refuses the tokens"));
    t.is(panicked.parseResult(), "0");
    t.is(await balanceOf(w.token, w.alice), 10_000n, "full refund when the receiver panics");
    t.is((await xferCall("return:100")).parseResult(), "0");
    t.is((await xferCall("return:999999")).parseResult(), "0", "claimed unused > amount is capped");
    t.is((await xferCall("return:40")).parseResult(), "60");
    t.is(await balanceOf(w.token, w.alice), 9_940n);
    t.is(await balanceOf(w.token, receiver), 60n);
    const stranger = await newAccount(t.context.root, "stranger");
    const r = await w.alice.callRaw(
      w.token,
      "ft_transfer_call",
      { receiver_id: stranger.accountId, amount: "1", msg: "" },
      { attachedDeposit: ONE_YOCTO, gas: MAX_GAS },
    );
    t.true(r.failed && JSON.stringify(r.Failure).includes("is not registered"));
    t.is(await w.token.view("ft_total_supply"), TOTAL_SUPPLY.toString());
  },
);

test.serial(
  "T07 storage abuse: conversations and registrations are paid by the user, not the contract",
  async (t) => {
    const { w } = await setup(t);
    const byteCost = 10n ** 19n;
    const snapshot = async () => {
      const view = await w.token.accountView();
      const state = await w.token.viewStateRaw("STATE");
      return {
        free: BigInt(view.amount) - BigInt(view.storage_usage) * byteCost,
        stateBytes: BigInt(state.reduce((n, { value }) => n + Buffer.from(value, "base64").length, 0)),
        usage: BigInt(view.storage_usage),
      };
    };
    const before = await snapshot();
    for (let i = 0; i < 10; i++) await openConversation(w, w.alice, 1n);
    const stranger = await newAccount(t.context.root, "stranger");
    await registerAccount(w.token, stranger);
    const after = await snapshot();
    t.true(after.usage - before.usage > 10n * 100n, "the records were stored");
    // The only bytes the contract pays for are its own STATE record growing by a digit (bounded).
    const stateGrowth = after.stateBytes - before.stateBytes;
    t.true(stateGrowth <= 4n, `STATE grew ${stateGrowth} bytes`);
    t.true(
      after.free - before.free >= -stateGrowth * byteCost,
      `contract's free balance fell by ${before.free - after.free} yoctoNEAR`,
    );
    // Underpaying is refused outright, and nothing is stored.
    await panics(
      t,
      w.alice.call(
        w.token,
        "start_ai_conversation",
        { conversation_id: conversationId(), amount: "1" },
        { attachedDeposit: ONE_YOCTO },
      ),
      "Attach at least",
    );
    const bounds = await w.token.view<{ min: string }>("storage_balance_bounds");
    const mallory = await newAccount(t.context.root, "mallory");
    await panics(
      t,
      mallory.call(w.token, "storage_deposit", {}, { attachedDeposit: BigInt(bounds.min) - 1n }),
      "less than the minimum storage balance",
    );
    // Transfers and purchases never register an account for free.
    await panics(
      t,
      w.alice.call(
        w.token,
        "ft_transfer",
        { receiver_id: mallory.accountId, amount: "1" },
        { attachedDeposit: ONE_YOCTO },
      ),
      "is not registered",
    );
    t.is(await w.token.view("storage_balance_of", { account_id: mallory.accountId }), null);
    t.is((await snapshot()).usage, after.usage);
  },
);
