// Expiry and reclaim (T17: every escrow can leave the contract without the operator), the owner's
// expiry bounds, and the per-account conversation list a user finds their escrows with.
import { readFileSync } from "node:fs";
import anyTest, { type TestFn } from "ava";
import type { Wallet } from "ethers";
import type { ConversationPage, ConversationView } from "#wire";
import { signRefund } from "#wire/crypto";
import {
  balanceOf,
  conversationId,
  deployToken,
  eventsOf,
  NEAR,
  newAccount,
  ONE_YOCTO,
  openConversation,
  panics,
  passTime,
  randomWallet,
  refundMessageFor,
  registerAccount,
  type TokenContext,
  tokenBundle,
  transfer,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext & { world?: World }>;

// Every test leaves the supply invariant intact, reclaimed conversations included.
useTokenWorker(test);

const HOUR = 3600;
const NS = 1_000_000_000n;

async function setup(t: { context: TokenContext & { world?: World } }) {
  const w = await deployToken(t.context.root);
  const signer = randomWallet();
  await w.owner.call(w.token, "set_refund_signers", { signers: [signer.address] });
  await transfer(w, w.owner, w.alice, 10_000n);
  t.context.world = w;
  return { w, signer };
}

const view = (w: World, id: string) =>
  w.token.view<ConversationView>("view_ai_conversation", { conversation_id: id });
const list = (w: World, args: Record<string, unknown>) =>
  w.token.view<ConversationPage>("list_ai_conversations", args);
const reclaim = (w: World, id: string, who = w.alice) =>
  who.call(w.token, "reclaim_expired_conversation", { conversation_id: id });

async function refundSigned(w: World, signer: Wallet, id: string, amount: bigint) {
  return signRefund(await refundMessageFor(w, id, amount), signer);
}

test.serial(
  "T17 nothing locked: the secret lost and the proxy gone, the opener finds the escrow, reclaim fails before expiry, pays it all after, then nothing pays again",
  async (t) => {
    const { w, signer } = await setup(t);
    // The proxy had signed a partial refund; then it vanished, and the user lost the secret.
    await openConversation(w, w.alice, 1000n, conversationId(), { expires_in_secs: 2 * HOUR });
    const { conversations } = await list(w, { account_id: w.alice.accountId });
    t.is(conversations.length, 1, "found without the secret");
    const escrow = conversations[0]!;
    const id = escrow.conversation_id;
    const signedEarlier = await refundSigned(w, signer, id, 300n);
    t.is(BigInt(escrow.expires_at) - BigInt(escrow.created_at), 2n * 3600n * NS);

    await panics(
      t,
      reclaim(w, id),
      /expires at \d{4}-\d\d-\d\dT.*\(in \d+ s\): until then only a refund signed/,
    );
    t.like(await view(w, id), { status: "open" });
    await passTime(t.context.worker, HOUR);
    await panics(t, reclaim(w, id), "expires at");

    await passTime(t.context.worker, HOUR);
    t.like(await view(w, id), { status: "expired" });
    // Anyone may trigger it (a friend, a bot); the tokens only ever go to the opener.
    const result = await w.bob.callRaw(w.token, "reclaim_expired_conversation", { conversation_id: id });
    t.true(result.succeeded, JSON.stringify(result.Failure));
    t.is(result.parseResult(), "1000");
    t.is(await balanceOf(w.token, w.alice), 10_000n, "the whole deposit is back");
    t.is(await balanceOf(w.token, w.bob), 0n);
    t.is(await balanceOf(w.token, w.token.accountId), 0n, "no escrow left");
    const events = eventsOf(result.logs);
    t.like(events.find((e) => e.event === "ft_transfer")?.data[0], {
      old_owner_id: w.token.accountId,
      new_owner_id: w.alice.accountId,
      amount: "1000",
    });
    t.like(
      events.find((e) => e.event === "conversation_reclaimed"),
      {
        standard: "ai_conversation",
        data: [{ conversation_id: id, receiver_id: w.alice.accountId, amount: "1000" }],
      },
    );
    t.like(await view(w, id), { status: "reclaimed", refund_amount: "1000", deposit: "1000" });

    // Nothing can be refunded or reclaimed again, by anyone.
    await panics(t, w.alice.call(w.token, "refund_unspent", { ...signedEarlier }), "was already reclaimed");
    await panics(t, reclaim(w, id), "was already reclaimed");
    await panics(t, reclaim(w, id, w.bob), "was already reclaimed");
    await panics(
      t,
      w.alice.call(
        w.token,
        "start_ai_conversation",
        { conversation_id: id, amount: "1" },
        { attachedDeposit: NEAR / 10n },
      ),
      "was already used",
    );
    t.is(await balanceOf(w.token, w.alice), 10_000n);
    t.is(await balanceOf(w.token, w.owner), 1_000_000_000n - 10_000n, "the operator got nothing");
  },
);

test.serial(
  "after expiry a signed refund still pays until the escrow is reclaimed; after a refund reclaim fails",
  async (t) => {
    const { w, signer } = await setup(t);
    const a = await openConversation(w, w.alice, 500n);
    const b = await openConversation(w, w.alice, 700n);
    const { conversation_expiry } = await w.token.view<{ conversation_expiry: { default_secs: number } }>(
      "get_config",
    );
    await passTime(t.context.worker, conversation_expiry.default_secs);
    t.like(await view(w, a.id), { status: "expired" });
    // The operator settles in time for one of them: the refund wins, reclaim is refused.
    await w.owner.call(w.token, "refund_unspent", { ...(await refundSigned(w, signer, a.id, 100n)) });
    await panics(t, reclaim(w, a.id), "was already refunded");
    t.is(await balanceOf(w.token, w.alice), 10_000n - 1200n + 100n);
    // For the other, the opener comes first: the operator's refund is refused.
    await reclaim(w, b.id);
    await panics(
      t,
      w.owner.call(w.token, "refund_unspent", { ...(await refundSigned(w, signer, b.id, 0n)) }),
      "was already reclaimed",
    );
    t.is(await balanceOf(w.token, w.alice), 10_000n - 500n + 100n);
    await panics(t, reclaim(w, conversationId()), "not found");
    await panics(t, reclaim(w, "nope"), "conversation_id must be 64 lowercase hex");
  },
);

test.serial(
  "an opener who unregistered meanwhile registers again and reclaims: still nothing is locked",
  async (t) => {
    const { w } = await setup(t);
    const { id } = await openConversation(w, w.alice, 10_000n, conversationId(), { expires_in_secs: HOUR });
    t.true(await w.alice.call(w.token, "storage_unregister", {}, { attachedDeposit: ONE_YOCTO }));
    await passTime(t.context.worker, HOUR);
    await panics(t, reclaim(w, id, w.bob), "is no longer registered with the token: register again");
    await registerAccount(w.token, w.alice);
    await reclaim(w, id, w.bob);
    t.is(await balanceOf(w.token, w.alice), 10_000n);
  },
);

test.serial(
  "expiry bounds: the opener picks within them, only the owner sets them, get_config shows them",
  async (t) => {
    const { w } = await setup(t);
    const config = async () =>
      (await w.token.view<{ conversation_expiry: Record<string, number> }>("get_config")).conversation_expiry;
    t.deepEqual(await config(), { min_secs: 3600, default_secs: 30 * 86400, max_secs: 90 * 86400 });
    const start = (expires_in_secs: unknown) =>
      w.alice.call(
        w.token,
        "start_ai_conversation",
        { conversation_id: conversationId(), amount: "1", expires_in_secs },
        { attachedDeposit: NEAR / 10n },
      );
    for (const bad of [59, 3599, 90 * 86400 + 1, 3600.5, "3600", -1])
      await panics(t, start(bad), "expires_in_secs must be a whole number of seconds from 3600 to 7776000");
    const long = await openConversation(w, w.alice, 1n, conversationId(), { expires_in_secs: 90 * 86400 });
    const lv = await view(w, long.id);
    t.is(BigInt(lv.expires_at) - BigInt(lv.created_at), 90n * 86400n * NS);

    const bounds = { min_secs: 60, default_secs: 120, max_secs: 600 };
    await panics(t, w.alice.call(w.token, "set_conversation_expiry", bounds), "Only the owner");
    const invalid: [Record<string, unknown>, string][] = [
      [{ ...bounds, min_secs: 200 }, "min_secs <= default_secs <= max_secs"],
      [{ ...bounds, default_secs: 700 }, "min_secs <= default_secs <= max_secs"],
      [{ ...bounds, max_secs: 366 * 86400 }, "max_secs must be a whole number of seconds from 1 to 31536000"],
      [{ ...bounds, min_secs: 0 }, "min_secs must be a whole number"],
      [{ ...bounds, default_secs: "120" }, "default_secs must be a whole number"],
      [{ min_secs: 60, max_secs: 600 }, "default_secs must be a whole number"],
    ];
    for (const [args, reason] of invalid)
      await panics(t, w.owner.call(w.token, "set_conversation_expiry", args), reason);
    await w.owner.call(w.token, "set_conversation_expiry", bounds);
    t.deepEqual(await config(), bounds);
    const short = await openConversation(w, w.alice, 1n);
    const sv = await view(w, short.id);
    t.is(BigInt(sv.expires_at) - BigInt(sv.created_at), 120n * NS, "the new default");
    t.is(await view(w, long.id).then((v) => v.expires_at), lv.expires_at, "open ones keep their expiry");
    await panics(t, start(601), "from 60 to 600");
  },
);

test.serial(
  "list_ai_conversations: newest first, paged with before/next, every status, bad arguments refused",
  async (t) => {
    const { w, signer } = await setup(t);
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const opts = i === 2 ? { expires_in_secs: HOUR } : {};
      ids.push((await openConversation(w, w.alice, BigInt(i * 100), conversationId(), opts)).id);
    }
    await transfer(w, w.owner, w.bob, 50n);
    const bobs = await openConversation(w, w.bob, 50n);
    await w.alice.call(w.token, "refund_unspent", { ...(await refundSigned(w, signer, ids[0]!, 40n)) });
    await passTime(t.context.worker, HOUR);
    await reclaim(w, ids[1]!, w.bob);

    const page1 = await list(w, { account_id: w.alice.accountId, limit: 2 });
    t.is(page1.total, 5);
    t.is(page1.account_id, w.alice.accountId);
    t.deepEqual(
      page1.conversations.map((c) => [c.index, c.conversation_id, c.deposit]),
      [
        [4, ids[4], "500"],
        [3, ids[3], "400"],
      ],
    );
    t.is(page1.next, 3);
    const page2 = await list(w, { account_id: w.alice.accountId, limit: 2, before: page1.next });
    t.deepEqual(
      page2.conversations.map((c) => c.index),
      [2, 1],
    );
    const page3 = await list(w, { account_id: w.alice.accountId, limit: 2, before: page2.next });
    t.deepEqual(
      page3.conversations.map((c) => c.index),
      [0],
    );
    t.is(page3.next, null);
    const all = await list(w, { account_id: w.alice.accountId });
    t.deepEqual(
      all.conversations.map((c) => c.status),
      ["open", "open", "open", "reclaimed", "refunded"],
    );
    t.like(all.conversations[4], { refund_amount: "40", deposit: "100" });
    t.like(all.conversations[3], { refund_amount: "200", deposit: "200" });
    for (const c of all.conversations) {
      t.deepEqual({ ...c, index: undefined }, { ...(await view(w, c.conversation_id)), index: undefined });
    }
    t.deepEqual(
      (await list(w, { account_id: w.bob.accountId })).conversations.map((c) => c.conversation_id),
      [bobs.id],
    );
    t.deepEqual(await list(w, { account_id: "nobody.test.near" }), {
      account_id: "nobody.test.near",
      total: 0,
      conversations: [],
      next: null,
    });
    t.is((await list(w, { account_id: w.alice.accountId, before: 99 })).conversations.length, 5);
    t.is((await list(w, { account_id: w.alice.accountId, before: 0 })).conversations.length, 0);
    for (const [args, reason] of [
      [{ account_id: w.alice.accountId, limit: 0 }, "limit must be a whole number from 1 to 100"],
      [{ account_id: w.alice.accountId, limit: 101 }, "limit must be a whole number from 1 to 100"],
      [{ account_id: w.alice.accountId, before: -1 }, "before must be a whole number"],
      [{ account_id: "Not An Account" }, "account_id is not a valid account id"],
      [{}, "account_id is not a valid account id"],
    ] as const)
      await panics(t, list(w, args), reason);
    w.conversations.push(...ids);
  },
);

test.serial(
  "every failure path panics with the reason alone: SDK checks, bad JSON, uninitialised contract",
  async (t) => {
    const { w } = await setup(t);
    await panics(t, w.alice.call(w.token, "ft_resolve_transfer", {}), "Function is private");
    await panics(
      t,
      w.alice.call(w.token, "set_token_price", { price: "1" }, { attachedDeposit: 1n }),
      "Function is not payable",
    );
    const raw = await w.alice.callRaw(w.token, "ft_transfer", Buffer.from("{not json"), {
      attachedDeposit: ONE_YOCTO,
    });
    t.true(raw.receiptFailureMessagesContain("arguments must be a JSON object"));
    await panics(
      t,
      w.alice.call(w.token, "ft_transfer", [] as unknown as Record<string, unknown>),
      "arguments must be a JSON object",
    );
    await panics(
      t,
      w.alice.call(w.token, "ft_transfer", { receiver_id: 5, amount: "1" }, { attachedDeposit: ONE_YOCTO }),
      "receiver_id is not a valid account id",
    );
    const fresh = await newAccount(t.context.root, "fresh", 50n * NEAR);
    await fresh.deploy(readFileSync(await tokenBundle()));
    await panics(t, fresh.view("ft_total_supply"), "The contract is not initialized");
    await panics(t, w.alice.call(fresh, "ft_transfer", {}, { attachedDeposit: 1n }), "not initialized");
  },
);
