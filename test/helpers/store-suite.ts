// The ConversationStore contract, as a reusable suite: every implementation (SQLite, NATS JetStream
// KV) runs it with storeContract(test, makeStore).
import { setTimeout as sleep } from "node:timers/promises";
import type { TestFn } from "ava";
import type { ConversationStore } from "#internal/proxy/store/types";

let seq = 0;
const id = () => (++seq).toString(16).padStart(64, "0").replace(/^0/, "c");
const rid = () => `r-${++seq}-${Math.random().toString(36).slice(2)}`;

export function storeContract(
  test: TestFn,
  makeStore: () => Promise<ConversationStore> | ConversationStore,
  label = "store",
): void {
  const withStore = async (fn: (s: ConversationStore) => Promise<void>) => {
    const store = await makeStore();
    try {
      await fn(store);
    } finally {
      await store.dispose();
    }
  };

  test(`${label}: ensureConversation inserts once, first writer wins`, (t) =>
    withStore(async (s) => {
      const cid = id();
      t.is(await s.getConversation(cid), undefined);
      const a = await s.ensureConversation({
        conversation_id: cid,
        receiver_id: "alice.near",
        deposit: 100n,
      });
      const b = await s.ensureConversation({
        conversation_id: cid,
        receiver_id: "mallory.near",
        deposit: 999n,
      });
      t.is(a.deposit, 100n);
      t.is(b.receiver_id, "alice.near");
      t.is(b.deposit, 100n);
      t.is(b.spent, 0n);
      t.is(b.reserved, 0n);
      t.is(b.status, "open");
    }));

  test(`${label}: reserve enforces spent + reserved <= deposit`, (t) =>
    withStore(async (s) => {
      const cid = id();
      await s.ensureConversation({ conversation_id: cid, receiver_id: "a.near", deposit: 100n });
      const r1 = await s.reserve({ conversation_id: cid, reservation_id: rid(), amount: 60n, owner: "p1" });
      t.true(r1.ok);
      const r2 = await s.reserve({ conversation_id: cid, reservation_id: rid(), amount: 41n, owner: "p1" });
      t.deepEqual(r2, { ok: false, reason: "insufficient", available: 40n });
      const r3 = await s.reserve({ conversation_id: cid, reservation_id: rid(), amount: 40n, owner: "p1" });
      t.true(r3.ok);
      t.is((await s.getConversation(cid))!.reserved, 100n);
      const missing = await s.reserve({
        conversation_id: id(),
        reservation_id: rid(),
        amount: 1n,
        owner: "p1",
      });
      t.is(missing.ok ? "ok" : missing.reason, "not_found");
    }));

  test(`${label}: concurrent reserves never exceed the deposit`, (t) =>
    withStore(async (s) => {
      const cid = id();
      await s.ensureConversation({ conversation_id: cid, receiver_id: "a.near", deposit: 1000n });
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          s.reserve({ conversation_id: cid, reservation_id: rid(), amount: 70n, owner: "p1" }),
        ),
      );
      t.is(results.filter((r) => r.ok).length, 14);
      const state = (await s.getConversation(cid))!;
      t.is(state.reserved, 980n);
      t.true(state.spent + state.reserved <= state.deposit);
    }));

  test(`${label}: settle charges usage, releases the rest, and is idempotent`, (t) =>
    withStore(async (s) => {
      const cid = id();
      await s.ensureConversation({ conversation_id: cid, receiver_id: "a.near", deposit: 100n });
      const r = rid();
      await s.reserve({ conversation_id: cid, reservation_id: r, amount: 50n, owner: "p1" });
      const first = await s.settle(r, 30n);
      t.is(first!.charged, 30n);
      t.is(first!.reserved, 50n);
      const again = await s.settle(r, 45n);
      t.is(again!.charged, 30n, "a second settle returns the first settlement");
      const state = (await s.getConversation(cid))!;
      t.is(state.spent, 30n);
      t.is(state.reserved, 0n);
      t.is(await s.settle("no-such-reservation", 1n), undefined);
      t.deepEqual(
        (await s.settlements(cid)).map((x) => x.charged),
        [30n],
      );
    }));

  test(`${label}: settle above the reservation takes only unreserved balance, never underflows`, (t) =>
    withStore(async (s) => {
      const cid = id();
      await s.ensureConversation({ conversation_id: cid, receiver_id: "a.near", deposit: 100n });
      const a = rid();
      const b = rid();
      await s.reserve({ conversation_id: cid, reservation_id: a, amount: 40n, owner: "p1" });
      await s.reserve({ conversation_id: cid, reservation_id: b, amount: 50n, owner: "p1" });
      // 10 unreserved: a may take 40 + 10 at most.
      t.is((await s.settle(a, 1_000n))!.charged, 50n);
      t.is((await s.settle(b, -5n))!.charged, 0n, "negative cost is treated as 0");
      const state = (await s.getConversation(cid))!;
      t.is(state.spent, 50n);
      t.is(state.reserved, 0n);
      t.true(state.deposit - state.spent - state.reserved >= 0n);
    }));

  test(`${label}: u128 amounts stay exact`, (t) =>
    withStore(async (s) => {
      const cid = id();
      const big = (1n << 127n) + 12345n;
      await s.ensureConversation({ conversation_id: cid, receiver_id: "a.near", deposit: big });
      const r = rid();
      t.true(
        (await s.reserve({ conversation_id: cid, reservation_id: r, amount: big - 1n, owner: "p1" })).ok,
      );
      await s.settle(r, big - 2n);
      const state = (await s.getConversation(cid))!;
      t.is(state.spent, big - 2n);
      t.is(state.deposit - state.spent, 2n);
    }));

  test(`${label}: closeConversation blocks new reservations, open ones still settle`, (t) =>
    withStore(async (s) => {
      const cid = id();
      await s.ensureConversation({ conversation_id: cid, receiver_id: "a.near", deposit: 100n });
      const r = rid();
      await s.reserve({ conversation_id: cid, reservation_id: r, amount: 10n, owner: "p1" });
      t.is((await s.closeConversation(cid))!.status, "closed");
      t.is((await s.closeConversation(cid))!.status, "closed", "idempotent");
      const denied = await s.reserve({
        conversation_id: cid,
        reservation_id: rid(),
        amount: 1n,
        owner: "p1",
      });
      t.is(denied.ok ? "ok" : denied.reason, "closed");
      t.is((await s.settle(r, 7n))!.charged, 7n);
      t.is(await s.closeConversation(id()), undefined);
    }));

  test(`${label}: openReservations filters by conversation and owner`, (t) =>
    withStore(async (s) => {
      const c1 = id();
      const c2 = id();
      await s.ensureConversation({ conversation_id: c1, receiver_id: "a.near", deposit: 100n });
      await s.ensureConversation({ conversation_id: c2, receiver_id: "b.near", deposit: 100n });
      const r1 = rid();
      await s.reserve({ conversation_id: c1, reservation_id: r1, amount: 5n, owner: "p1" });
      await s.reserve({ conversation_id: c2, reservation_id: rid(), amount: 6n, owner: "p2" });
      t.is((await s.openReservations({ conversation_id: c1 })).length, 1);
      t.deepEqual(
        (await s.openReservations({ owner: "p2" }))
          .filter((r) => r.conversation_id === c2)
          .map((r) => r.amount),
        [6n],
      );
      await s.settle(r1, 5n);
      t.is((await s.openReservations({ conversation_id: c1 })).length, 0);
    }));

  test(`${label}: saveRefund keeps the first signed refund`, (t) =>
    withStore(async (s) => {
      const cid = id();
      await s.ensureConversation({ conversation_id: cid, receiver_id: "a.near", deposit: 100n });
      t.is(await s.getRefund(cid), undefined);
      const first = { refund_message: '{"refund_amount":"90"}', signature: "0x01" };
      t.deepEqual(await s.saveRefund(cid, first), first);
      t.deepEqual(
        await s.saveRefund(cid, { refund_message: '{"refund_amount":"100"}', signature: "0x02" }),
        first,
      );
      t.deepEqual(await s.getRefund(cid), first);
    }));

  test(`${label}: the escrow's chain times are kept with the conversation`, (t) =>
    withStore(async (s) => {
      const cid = id();
      const escrow = { created_at: 1_796_000_000_000_000_000n, expires_at: 1_798_592_000_000_000_000n };
      await s.ensureConversation({ conversation_id: cid, receiver_id: "a.near", deposit: 100n, escrow });
      t.deepEqual((await s.getConversation(cid))?.escrow, escrow);
      await s.reserve({ conversation_id: cid, reservation_id: rid(), amount: 10n, owner: rid() });
      t.deepEqual((await s.closeConversation(cid))?.escrow, escrow, "kept through updates");
    }));

  test(`${label}: instance leases: a live lease of another process is refused, an expired or replaced one is taken`, (t) =>
    withStore(async (s) => {
      const id = `inst-${++seq}`;
      const lease = (nonce: string, ttl = 60_000) => ({
        id,
        nonce,
        host: "h",
        pid: 1,
        started_at: Date.now(),
        expires_at: Date.now() + ttl,
      });
      t.deepEqual(await s.claimInstance(lease("a")), { ok: true });
      t.deepEqual(await s.claimInstance(lease("a")), { ok: true }, "renewal by the holder");
      const refused = await s.claimInstance(lease("b"));
      t.false(refused.ok);
      if (!refused.ok) t.is(refused.held.nonce, "a");
      t.deepEqual(await s.claimInstance(lease("b"), "a"), { ok: true }, "replacing a holder known dead");
      await s.claimInstance(lease("c", -1), "b");
      t.deepEqual(await s.claimInstance(lease("d")), { ok: true }, "an expired lease is free");
      await s.releaseInstance(lease("d"));
      t.deepEqual(await s.claimInstance(lease("e")), { ok: true }, "a released lease is free");
    }));

  test(`${label}: settlement's work list and payouts: activity moves the idle clock, a final payout leaves the list`, (t) =>
    withStore(async (s) => {
      const cid = id();
      const other = id();
      const created = await s.ensureConversation({
        conversation_id: cid,
        receiver_id: "a.near",
        deposit: 100n,
      });
      await s.ensureConversation({ conversation_id: other, receiver_id: "b.near", deposit: 50n });
      const listed = async () => (await s.unsettledConversations()).map((c) => c.conversation_id);
      t.true((await listed()).includes(cid));
      t.is(created.payout, undefined);
      const idle0 = created.active_at ?? created.created_at;
      await sleep(5);
      const r1 = rid();
      await s.reserve({ conversation_id: cid, reservation_id: r1, amount: 10n, owner: "p1" });
      await s.settle(r1, 7n);
      const used = (await s.getConversation(cid))!;
      t.true((used.active_at ?? 0) > idle0, "reserve/settle move the idle clock");
      t.is(used.spent, 7n);

      const claimed = await s.updatePayout(cid, (current, state) => {
        t.is(current, undefined);
        t.is(state.spent, 7n, "the change sees the ledger state");
        return { state: "claimed", reason: "idle", attempts: 0, updated_at: 1 };
      });
      t.is(claimed?.state, "claimed");
      t.is(
        await s.updatePayout(cid, () => undefined).then((p) => p?.state),
        "claimed",
        "undefined leaves it",
      );
      t.is((await s.getConversation(cid))!.payout?.state, "claimed");
      t.true((await listed()).includes(cid), "in progress: still on the work list");
      t.is(
        await s.updatePayout(id(), () => ({ state: "claimed", reason: "idle", attempts: 0, updated_at: 1 })),
        undefined,
      );

      await s.updatePayout(cid, (current) => ({ ...current!, state: "settled", operator_amount: "7" }));
      t.false((await listed()).includes(cid), "a final payout leaves the work list");
      t.true((await listed()).includes(other));
      t.is((await s.getConversation(cid))!.payout?.operator_amount, "7");

      // Concurrent changes apply one after the other (the change runs inside the atomic step).
      await Promise.all(
        Array.from({ length: 5 }, () =>
          s.updatePayout(other, (current) => ({
            state: "claimed",
            reason: "idle",
            attempts: (current?.attempts ?? 0) + 1,
            updated_at: 1,
          })),
        ),
      );
      t.is((await s.getConversation(other))!.payout?.attempts, 5);

      const signedBefore = (await s.getConversation(other))!.active_at ?? 0;
      await sleep(5);
      await s.saveRefund(other, { refund_message: "{}", signature: "0x00" });
      t.true(
        ((await s.getConversation(other))!.active_at ?? 0) > signedBefore,
        "a signed refund is activity",
      );
    }));
}
