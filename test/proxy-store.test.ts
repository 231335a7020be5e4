// The store contract against the embedded SQLite store (in memory and on disk), plus durability.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { SqliteStore } from "../proxy/src/store/sqlite.js";
import { storeContract } from "./helpers/store-suite.js";

const dir = mkdtempSync(join(tmpdir(), "aiproxy-store-"));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

storeContract(test, () => new SqliteStore({ path: ":memory:" }), "sqlite :memory:");
let n = 0;
storeContract(test, () => new SqliteStore({ path: join(dir, `s${++n}.sqlite`) }), "sqlite file");

test("sqlite file: the ledger survives reopening", async (t) => {
  const path = join(dir, "reopen.sqlite");
  const a = new SqliteStore({ path });
  const cid = "a".repeat(64);
  await a.ensureConversation({ conversation_id: cid, receiver_id: "x.near", deposit: 500n });
  await a.reserve({ conversation_id: cid, reservation_id: "r1", amount: 100n, owner: "p1" });
  await a.dispose();
  const b = new SqliteStore({ path });
  const state = (await b.getConversation(cid))!;
  t.is(state.reserved, 100n);
  t.deepEqual(
    (await b.openReservations({ owner: "p1" })).map((r) => r.reservation_id),
    ["r1"],
  );
  await b.dispose();
});
