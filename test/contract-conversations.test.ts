// Conversations: escrow, signed refunds (ethers EIP-191 signatures verified on chain with ecrecover),
// and every way a refund can be wrong.
import anyTest, { type TestFn } from "ava";
import { Signature, type Wallet } from "ethers";
import { type ConversationView, encodeRefundMessage } from "#wire";
import { refundSignerAddress, signRefund } from "#wire/crypto";
import {
  balanceOf,
  conversationId,
  deployToken,
  eventsOf,
  NEAR,
  newAccount,
  openConversation,
  panics,
  randomWallet,
  refundMessageFor,
  TOTAL_SUPPLY,
  type TokenContext,
  transfer,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext & { world?: World; signer: Wallet }>;

// Every test leaves the supply invariant intact.
useTokenWorker(test);

/** A token with a refund signer, alice holding 10 000 units. */
async function setup(t: { context: TokenContext & { world?: World; signer: Wallet } }) {
  const world = await deployToken(t.context.root);
  const signer = randomWallet();
  await world.owner.call(world.token, "set_refund_signers", { signers: [signer.address] });
  await transfer(world, world.owner, world.alice, 10_000n);
  t.context.world = world;
  t.context.signer = signer;
  return { world, signer };
}

const refundFor = (w: World, id: string, refund: bigint, receiver?: string) =>
  refundMessageFor(w, id, refund, receiver ? { receiver_id: receiver } : {});

test.serial("seed scenario: open, refund part, balances and events", async (t) => {
  const { world: w, signer } = await setup(t);
  const { id, result } = await openConversation(w, w.alice, 1000n);
  const started = eventsOf(result.logs);
  t.like(started.find((e) => e.event === "ft_transfer")?.data[0], {
    old_owner_id: w.alice.accountId,
    new_owner_id: w.token.accountId,
    amount: "1000",
  });
  t.like(
    started.find((e) => e.event === "conversation_started"),
    {
      standard: "ai_conversation",
      version: "1.0.0",
      data: [{ conversation_id: id, receiver_id: w.alice.accountId, deposit: "1000" }],
    },
  );
  const open = await w.token.view<ConversationView>("view_ai_conversation", { conversation_id: id });
  t.like(open, { conversation_id: id, receiver_id: w.alice.accountId, deposit: "1000", status: "open" });
  t.regex(open.created_at, /^[1-9][0-9]*$/);
  const { conversation_expiry } = await w.token.view<{ conversation_expiry: { default_secs: number } }>(
    "get_config",
  );
  t.is(
    BigInt(open.expires_at) - BigInt(open.created_at),
    BigInt(conversation_expiry.default_secs) * 10n ** 9n,
    "expires after the default lifetime",
  );
  t.false("refund_amount" in open);
  t.is(await balanceOf(w.token, w.alice), 9_000n);
  t.is(await balanceOf(w.token, w.token.accountId), 1000n, "escrow");

  const signed = await signRefund(await refundFor(w, id, 400n), signer);
  const refund = await w.alice.callRaw(w.token, "refund_unspent", { ...signed });
  t.true(refund.succeeded, JSON.stringify(refund.Failure));
  t.is(await balanceOf(w.token, w.alice), 9_400n);
  t.is(
    await balanceOf(w.token, w.owner),
    TOTAL_SUPPLY - 10_000n + 600n,
    "operator (owner) gets the spent part",
  );
  t.is(await balanceOf(w.token, w.token.accountId), 0n);
  const events = eventsOf(refund.logs);
  t.like(
    events.find((e) => e.event === "conversation_refunded"),
    {
      standard: "ai_conversation",
      data: [
        {
          conversation_id: id,
          receiver_id: w.alice.accountId,
          refund_amount: "400",
          operator_id: w.owner.accountId,
          operator_amount: "600",
        },
      ],
    },
  );
  t.is(events.filter((e) => e.event === "ft_transfer").length, 2);
  t.like(await w.token.view("view_ai_conversation", { conversation_id: id }), {
    status: "refunded",
    refund_amount: "400",
    deposit: "1000",
  });
});

test.serial(
  "a refund signed with ethers Wallet.signMessage verifies on chain (any configured signer)",
  async (t) => {
    const { world: w, signer } = await setup(t);
    const second = randomWallet();
    await w.owner.call(w.token, "set_refund_signers", { signers: [signer.address, second.address] });
    const { id } = await openConversation(w, w.alice, 500n);
    const signed = await signRefund(await refundFor(w, id, 500n), second);
    t.is(signed.refund_message, encodeRefundMessage(await refundFor(w, id, 500n)));
    t.is(refundSignerAddress(signed), second.address);
    // Anyone may submit it; the tokens still go to the conversation's receiver.
    await w.bob.call(w.token, "refund_unspent", { ...signed });
    t.is(await balanceOf(w.token, w.alice), 10_000n);
    t.is(await balanceOf(w.token, w.bob), 0n);
  },
);

test.serial("refund failures: other wallet, high-s, changed amount, other contract, replay", async (t) => {
  const { world: w, signer } = await setup(t);
  const { id } = await openConversation(w, w.alice, 1000n);
  const good = await signRefund(await refundFor(w, id, 100n), signer);
  const submit = (args: { refund_message: string; signature: string }) =>
    w.alice.call(w.token, "refund_unspent", { ...args });

  const other = await signRefund(await refundFor(w, id, 100n), randomWallet());
  await panics(t, submit(other), "signature is not from a configured refund signer");

  // High-s twin of a valid signature: (r, n - s, v ^ 1) recovers the same key without the flag.
  const sig = Signature.from(good.signature);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const highS = `0x${sig.r.slice(2)}${(n - BigInt(sig.s)).toString(16).padStart(64, "0")}${(sig.v === 27 ? 28 : 27).toString(16)}`;
  await panics(t, submit({ ...good, signature: highS }), "public key recovery failed");

  const changed = good.refund_message.replace('"refund_amount":"100"', '"refund_amount":"900"');
  t.not(changed, good.refund_message);
  await panics(
    t,
    submit({ refund_message: changed, signature: good.signature }),
    "not from a configured refund signer",
  );

  const elsewhere = await signRefund(
    { ...(await refundFor(w, id, 100n)), contract_id: "other-token.test.near" },
    signer,
  );
  await panics(t, submit(elsewhere), "refund_message is for contract other-token.test.near");

  t.like(await w.token.view("view_ai_conversation", { conversation_id: id }), { status: "open" });
  await submit(good);
  await panics(t, submit(good), "was already refunded");
  t.is(await balanceOf(w.token, w.alice), 9_100n, "paid once");
});

test.serial("refund edge amounts: zero refund pays the operator, full refund pays the user", async (t) => {
  const { world: w, signer } = await setup(t);
  await w.owner.call(w.token, "set_operator", { operator_id: w.bob.accountId });
  const a = await openConversation(w, w.alice, 300n);
  const b = await openConversation(w, w.alice, 200n);
  await w.alice.call(w.token, "refund_unspent", {
    ...(await signRefund(await refundFor(w, a.id, 0n), signer)),
  });
  await w.alice.call(w.token, "refund_unspent", {
    ...(await signRefund(await refundFor(w, b.id, 200n), signer)),
  });
  t.is(await balanceOf(w.token, w.bob), 300n);
  t.is(await balanceOf(w.token, w.alice), 9_700n);
  await panics(
    t,
    w.alice.call(w.token, "refund_unspent", {
      ...(await signRefund(await refundFor(w, a.id, 0n, w.bob.accountId), signer)),
    }),
    "was already refunded",
  );
  const c = await openConversation(w, w.alice, 50n);
  await panics(
    t,
    w.alice.call(w.token, "refund_unspent", {
      ...(await signRefund(await refundFor(w, c.id, 1n, w.bob.accountId), signer)),
    }),
    "receiver_id does not match the conversation",
  );
  await panics(
    t,
    w.alice.call(w.token, "refund_unspent", {
      ...(await signRefund(
        await refundMessageFor(w, conversationId(), 1n, { deposit: "1000", created_at: "1" }),
        signer,
      )),
    }),
    "not found",
  );
});

test.serial("start_ai_conversation: deposit, id and balance checks; excess deposit refunded", async (t) => {
  const { world: w } = await setup(t);
  const start = (args: Record<string, unknown>, attachedDeposit = NEAR / 10n) =>
    w.alice.call(
      w.token,
      "start_ai_conversation",
      { conversation_id: conversationId(), amount: "10", ...args },
      {
        attachedDeposit,
      },
    );
  await panics(t, start({}, 0n), "Requires an attached deposit of 1 yoctoNEAR plus");
  await panics(t, start({}, 1n), /Attach at least \d+ yoctoNEAR: 1 yoctoNEAR plus \d+ bytes/);
  await panics(t, start({ conversation_id: "AB".repeat(32) }), "64 lowercase hex");
  await panics(t, start({ conversation_id: "ab" }), "64 lowercase hex");
  await panics(t, start({ amount: "0" }), "amount must be positive");
  await panics(t, start({ amount: "10001" }), "doesn't have enough balance");
  const stranger = await newAccount(t.context.root, "stranger");
  await panics(
    t,
    stranger.call(
      w.token,
      "start_ai_conversation",
      { conversation_id: conversationId(), amount: "1" },
      {
        attachedDeposit: NEAR / 10n,
      },
    ),
    "is not registered",
  );
  const before = BigInt((await w.alice.accountView()).amount);
  const maxDeposit = BigInt(
    (await w.token.view<{ conversation_deposit_max: string }>("get_config")).conversation_deposit_max,
  );
  await openConversation(w, w.alice, 10n);
  const paid = before - BigInt((await w.alice.accountView()).amount);
  t.true(paid <= maxDeposit + NEAR / 100n, `paid ${paid}, at most the storage plus gas`);
  await panics(t, start({ conversation_id: w.conversations[0] }), "was already used");
  t.is(await w.token.view("view_ai_conversation", { conversation_id: conversationId() }), null);
  t.is(await w.token.view("view_ai_conversation", { conversation_id: "nope" }), null);
});
