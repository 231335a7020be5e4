// The store contract against the embedded SQLite store (in memory and on disk), plus durability.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import Database from "better-sqlite3";
import { SqliteStore } from "#internal/proxy/store/sqlite";
import { storeContract } from "./helpers/store-suite.js";

const dir = mkdtempSync(join(tmpdir(), "aiproxy-store-"));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

storeContract(
  test,
  () => new SqliteStore({ path: ":memory:", contractId: "token.test.near" }),
  "sqlite :memory:",
);
let n = 0;
storeContract(
  test,
  () => new SqliteStore({ path: join(dir, `s${++n}.sqlite`), contractId: "token.test.near" }),
  "sqlite file",
);

test("sqlite file: the ledger survives reopening", async (t) => {
  const path = join(dir, "reopen.sqlite");
  const a = new SqliteStore({ path, contractId: "token.test.near" });
  const cid = "a".repeat(64);
  await a.ensureConversation({ conversation_id: cid, receiver_id: "x.near", deposit: 500n });
  await a.reserve({ conversation_id: cid, reservation_id: "r1", amount: 100n, owner: "p1" });
  await a.dispose();
  const b = new SqliteStore({ path, contractId: "token.test.near" });
  const state = (await b.getConversation(cid))!;
  t.is(state.reserved, 100n);
  t.deepEqual(
    (await b.openReservations({ owner: "p1" })).map((r) => r.reservation_id),
    ["r1"],
  );
  await b.dispose();
});

test("sqlite file: a ledger written before escrow v2 (no escrow columns) opens and keeps its rows", async (t) => {
  const path = join(dir, "v1.sqlite");
  const old = new Database(path);
  old.exec(`CREATE TABLE conversations (id TEXT PRIMARY KEY, receiver_id TEXT NOT NULL, deposit TEXT NOT NULL,
    spent TEXT NOT NULL DEFAULT '0', reserved TEXT NOT NULL DEFAULT '0', status TEXT NOT NULL DEFAULT 'open',
    created_at INTEGER NOT NULL, refund_message TEXT, refund_signature TEXT)`);
  old
    .prepare("INSERT INTO conversations (id, receiver_id, deposit, spent, created_at) VALUES (?, ?, ?, ?, ?)")
    .run("e".repeat(64), "x.near", "700", "30", 1);
  old.close();
  const store = new SqliteStore({ path, contractId: "token.test.near" });
  const state = (await store.getConversation("e".repeat(64)))!;
  t.like(state, { deposit: 700n, spent: 30n, status: "open" });
  t.is(state.escrow, undefined, "unknown: the refund reads it from the chain");
  await store.dispose();
});

test("sqlite file: two stores on one file (two processes) see each other's writes despite the cache", async (t) => {
  const path = join(dir, "shared.sqlite");
  const a = new SqliteStore({ path, contractId: "token.test.near" });
  const b = new SqliteStore({ path, contractId: "token.test.near" });
  const cid = "b".repeat(64);
  await a.ensureConversation({ conversation_id: cid, receiver_id: "x.near", deposit: 300n });
  // Both read (and cache) the conversation, then alternate writes: a stale cache would let the two
  // together reserve more than the deposit.
  t.is((await a.getConversation(cid))?.reserved, 0n);
  t.is((await b.getConversation(cid))?.reserved, 0n);
  t.true((await a.reserve({ conversation_id: cid, reservation_id: "a1", amount: 200n, owner: "a" })).ok);
  const refused = await b.reserve({ conversation_id: cid, reservation_id: "b1", amount: 200n, owner: "b" });
  t.deepEqual(refused, { ok: false, reason: "insufficient", available: 100n });
  t.is((await b.getConversation(cid))?.reserved, 200n);
  // b settles a's reservation; a then sees it settled and cannot settle it again for more.
  t.is((await b.settle("a1", 150n))?.charged, 150n);
  t.is((await a.settle("a1", 999n))?.charged, 150n, "idempotent across connections");
  const state = await a.getConversation(cid);
  t.deepEqual([state?.spent, state?.reserved], [150n, 0n]);
  t.true((await a.reserve({ conversation_id: cid, reservation_id: "a2", amount: 150n, owner: "a" })).ok);
  t.false((await b.reserve({ conversation_id: cid, reservation_id: "b2", amount: 1n, owner: "b" })).ok);
  await a.dispose();
  await b.dispose();
});

test("sqlite: one failing op in a group-committed batch fails alone", async (t) => {
  const store = new SqliteStore({ path: ":memory:", contractId: "token.test.near" });
  const cid = "c".repeat(64);
  await store.ensureConversation({ conversation_id: cid, receiver_id: "x.near", deposit: 1000n });
  t.true((await store.reserve({ conversation_id: cid, reservation_id: "dup", amount: 10n, owner: "p" })).ok);
  // Issued in one turn, so they share one transaction; the duplicate id is refused by SQLite.
  const [first, duplicate, last] = await Promise.allSettled([
    store.reserve({ conversation_id: cid, reservation_id: "r1", amount: 20n, owner: "p" }),
    store.reserve({ conversation_id: cid, reservation_id: "dup", amount: 40n, owner: "p" }),
    store.reserve({ conversation_id: cid, reservation_id: "r2", amount: 80n, owner: "p" }),
  ]);
  t.is(first.status, "fulfilled");
  t.is(duplicate.status, "rejected");
  t.is(last.status, "fulfilled");
  t.is((await store.getConversation(cid))?.reserved, 110n, "10 + 20 + 80: the rolled-back try left nothing");
  await store.dispose();
});

test("T19 sqlite: a ledger file created for one contract refuses to open for another", (t) => {
  const path = join(dir, "contract.sqlite");
  const a = new SqliteStore({ path, contractId: "token-a.test.near" });
  void a.dispose();
  const err = t.throws(() => new SqliteStore({ path, contractId: "token-b.test.near" }));
  t.regex(String(err?.message), /belongs to contract token-a\.test\.near, not token-b\.test\.near/);
  const again = new SqliteStore({ path, contractId: "token-a.test.near" });
  t.truthy(again);
  void again.dispose();
});
