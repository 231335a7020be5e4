// The store contract (test/helpers/store-suite.ts) against the JetStream KV store, plus what only a
// shared store must show: two stores on separate connections never overspend together, and an
// interrupted settle is completed once.
import test from "ava";
import { connect } from "nats";
import { JetStreamStore } from "#internal/proxy/store/jetstream";
import { type NatsServer, startNatsServer } from "./helpers/nats-server.js";
import { storeContract } from "./helpers/store-suite.js";

let server: NatsServer;
test.before(async () => {
  server = await startNatsServer();
});
test.after.always(async () => {
  await server?.stop();
});

const open = async () =>
  JetStreamStore.open({
    nc: await connect({ servers: server.url }),
    ownsConnection: true,
    contractId: "token.test.near",
  });

storeContract(test, open, "jetstream");

test("jetstream: two processes' stores (separate connections) never overspend together", async (t) => {
  const [a, b] = await Promise.all([open(), open()]);
  try {
    const cid = "f".repeat(64);
    await Promise.all([
      a.ensureConversation({ conversation_id: cid, receiver_id: "x.near", deposit: 1000n }),
      b.ensureConversation({ conversation_id: cid, receiver_id: "y.near", deposit: 1000n }),
    ]);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).reserve({
          conversation_id: cid,
          reservation_id: `r${i}`,
          amount: 70n,
          owner: i % 2 ? "a" : "b",
        }),
      ),
    );
    const state = (await a.getConversation(cid))!;
    t.is(results.filter((r) => r.ok).length, 14);
    t.is(state.reserved, 980n);
    t.true(state.receiver_id === "x.near" || state.receiver_id === "y.near");
    // Settle every winner twice, from both stores at once: each is charged once.
    const winners = results.flatMap((r, i) => (r.ok ? [`r${i}`] : []));
    await Promise.all(winners.flatMap((id) => [a.settle(id, 60n), b.settle(id, 60n)]));
    const after = (await b.getConversation(cid))!;
    t.is(after.reserved, 0n);
    t.is(after.spent, 60n * BigInt(winners.length));
    t.is((await a.settlements(cid)).length, winners.length);
  } finally {
    await Promise.all([a.dispose(), b.dispose()]);
  }
});

test("jetstream: ids outside the KV key alphabet are encoded, not rejected", async (t) => {
  const s = await open();
  try {
    const cid = "e".repeat(64);
    await s.ensureConversation({ conversation_id: cid, receiver_id: "x.near", deposit: 10n });
    const rid = "job:ä.b/c d";
    t.true((await s.reserve({ conversation_id: cid, reservation_id: rid, amount: 4n, owner: "p" })).ok);
    t.deepEqual(
      (await s.openReservations({ owner: "p" })).map((r) => r.reservation_id),
      [rid],
    );
    t.is((await s.settle(rid, 3n))!.charged, 3n);
    t.deepEqual(
      (await s.settlements(cid)).map((x) => x.reservation_id),
      [rid],
    );
  } finally {
    await s.dispose();
  }
});

test("jetstream: stores opening one new bucket at the same moment all open it (no 'subjects overlap')", async (t) => {
  const bucket = `race_${Date.now()}`;
  const stores = await Promise.all(
    Array.from({ length: 6 }, async () =>
      JetStreamStore.open({
        nc: await connect({ servers: server.url }),
        ownsConnection: true,
        bucket,
        contractId: "token.test.near",
      }),
    ),
  );
  t.is(stores.length, 6);
  await Promise.all(stores.map((s) => s.dispose()));
});
