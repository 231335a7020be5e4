// Embedded durable ledger on SQLite (better-sqlite3). Amounts are TEXT (u128 does not fit in
// SQLite's int64) and all arithmetic is BigInt inside IMMEDIATE transactions, so two proxy processes
// sharing one file still serialize their ledger updates. WAL journal; synchronous NORMAL by default (see config store.synchronous).
// A file is one contract's ledger (T19): stamped with its contract id when created, it refuses to
// open for any other. It also holds the instance leases (T20, store/identity.ts).
// One file over 350 lines on purpose: one class, because the write-through cache, the data_version
// check and the group commit share its private state, and the schema sits beside the row types and
// SQL that use it. The ledger rules are ledger.ts's, the decoding of a stored ledger stored-ledger.ts's.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { SignedRefund } from "#wire";
import { type Checkpointer, startCheckpointer } from "./checkpointer.js";
import { decideReserve, decideSettle } from "./ledger.js";
import { type StoredLedger, stateOf } from "./stored-ledger.js";
import {
  type ConversationState,
  type ConversationStore,
  type InstanceLease,
  isFinalPayout,
  type LeaseResult,
  type NewConversation,
  type Payout,
  type Reservation,
  type ReserveRequest,
  type ReserveResult,
  type Settlement,
  StoreContractError,
} from "./types.js";

interface ConversationRow extends StoredLedger {
  id: string;
  refund_message: string | null;
  refund_signature: string | null;
  escrow_created_at: string | null;
  escrow_expires_at: string | null;
  active_at: number | null;
  payout: string | null;
}

interface ReservationRow {
  id: string;
  conversation_id: string;
  amount: string;
  owner: string;
  created_at: number;
  state: "open" | "settled";
  charged: string | null;
  settled_at: number | null;
}

const schema = `
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  receiver_id TEXT NOT NULL,
  deposit TEXT NOT NULL,
  spent TEXT NOT NULL DEFAULT '0',
  reserved TEXT NOT NULL DEFAULT '0',
  status TEXT NOT NULL DEFAULT 'open',
  created_at INTEGER NOT NULL,
  refund_message TEXT,
  refund_signature TEXT,
  escrow_created_at TEXT,
  escrow_expires_at TEXT,
  active_at INTEGER,
  payout TEXT,
  payout_final INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  amount TEXT NOT NULL,
  owner TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'open',
  charged TEXT,
  settled_at INTEGER
);
CREATE INDEX IF NOT EXISTS reservations_open ON reservations(conversation_id) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS reservations_by_conversation ON reservations(conversation_id, created_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, lease TEXT NOT NULL);
`;

/** Settlement's work list: conversations whose payout is not final (created after the columns exist). */
const unsettledIndex =
  "CREATE INDEX IF NOT EXISTS conversations_unsettled ON conversations(id) WHERE payout_final = 0";

function toState(row: ConversationRow): ConversationState {
  return stateOf(row.id, row, {
    ...(row.escrow_created_at && row.escrow_expires_at
      ? { escrow: { created_at: row.escrow_created_at, expires_at: row.escrow_expires_at } }
      : {}),
    ...(row.active_at !== null ? { active_at: row.active_at } : {}),
    ...(row.payout ? { payout: JSON.parse(row.payout) as Payout } : {}),
  });
}

/** Ledgers created before escrow v2 lack the escrow columns, those before settlement its columns. */
function addMissingColumns(db: Database.Database): void {
  const columns = db.prepare<[], { name: string }>("PRAGMA table_info(conversations)").all();
  const wanted = {
    escrow_created_at: "TEXT",
    escrow_expires_at: "TEXT",
    active_at: "INTEGER",
    payout: "TEXT",
    payout_final: "INTEGER NOT NULL DEFAULT 0",
  };
  for (const [name, type] of Object.entries(wanted))
    if (!columns.some((c) => c.name === name))
      db.exec(`ALTER TABLE conversations ADD COLUMN ${name} ${type}`);
  db.exec(unsettledIndex);
}

function toSettlement(row: ReservationRow): Settlement {
  return {
    reservation_id: row.id,
    conversation_id: row.conversation_id,
    reserved: BigInt(row.amount),
    charged: BigInt(row.charged ?? "0"),
    settled_at: row.settled_at ?? 0,
  };
}

interface LedgerOp {
  run(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** What settle needs of an open reservation, kept from reserve() so settle() skips a SELECT. */
interface OpenReservation {
  conversation_id: string;
  amount: bigint;
}

/** Cached conversations / open reservations kept per connection (oldest dropped past this). */
const CACHE_LIMIT = 50_000;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > CACHE_LIMIT) map.delete(map.keys().next().value as string);
}

export interface SqliteStoreOptions {
  path: string;
  /** The contract this ledger belongs to; a file stamped for another contract refuses to open. */
  contractId: string;
  synchronous?: "full" | "normal";
}

/**
 * The ledger keeps a write-through cache of the conversations and open reservations it has seen, so
 * a request costs two writes to reserve and two to settle, with no SELECT. The cache is only trusted
 * while no other connection has committed to the file: `PRAGMA data_version` (one cheap read, and
 * once per write batch under the write lock) tells, and any change drops the cache. A second process
 * on the same file therefore stays exact, just without the cache's benefit.
 */
export class SqliteStore implements ConversationStore {
  readonly #db: Database.Database;
  readonly #checkpointer: Checkpointer | undefined;
  readonly #selectConversation: Database.Statement<[string], ConversationRow>;
  readonly #selectReservation: Database.Statement<[string], ReservationRow>;
  readonly #dataVersionOf: Database.Statement<[], number>;
  readonly #conversations = new Map<string, ConversationState>();
  readonly #open = new Map<string, OpenReservation>();
  #dataVersion = -1;
  #checkedThisTurn = false;
  readonly #reserveOp: (r: ReserveRequest) => ReserveResult;
  readonly #settleOp: (id: string, cost: bigint) => Settlement | undefined;
  /** Runs ledger ops in one IMMEDIATE transaction; the first op that throws rolls back all of them. */
  readonly #inTransaction: (ops: Array<() => unknown>) => unknown[];
  #queue: LedgerOp[] = [];
  #flushScheduled = false;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new Database(options.path);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma(`synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
    this.#db.pragma("busy_timeout = 5000");
    this.#db.pragma("foreign_keys = ON");
    this.#db.exec(schema);
    addMissingColumns(this.#db);
    this.#claimContract(options.contractId, options.path);
    if (options.path !== ":memory:") {
      // Checkpoints run in a worker (checkpointer.ts); this connection's own autocheckpoint stays
      // only as a backstop (10000 pages, ~40 MB of WAL) should the worker fall behind.
      this.#db.pragma("wal_autocheckpoint = 10000");
      this.#checkpointer = startCheckpointer(options.path);
    }

    const db = this.#db;
    this.#selectConversation = db.prepare("SELECT * FROM conversations WHERE id = ?");
    this.#selectReservation = db.prepare("SELECT * FROM reservations WHERE id = ?");
    this.#dataVersionOf = db.prepare<[], number>("PRAGMA data_version").pluck();
    const insertReservation = db.prepare(
      "INSERT INTO reservations (id, conversation_id, amount, owner, created_at) VALUES (?, ?, ?, ?, ?)",
    );
    const setReserved = db.prepare("UPDATE conversations SET reserved = ?, active_at = ? WHERE id = ?");
    const setLedger = db.prepare(
      "UPDATE conversations SET spent = ?, reserved = ?, active_at = ? WHERE id = ?",
    );
    const markSettled = db.prepare(
      "UPDATE reservations SET state = 'settled', charged = ?, settled_at = ? WHERE id = ?",
    );

    // Ops run inside #inTransaction only. Each checks everything before its first write, and its
    // first write is the only one a constraint can refuse; anything else that throws (I/O) fails
    // the whole transaction, and #flush then rolls back and clears the cache.
    this.#reserveOp = (r) => {
      const state = this.#state(r.conversation_id);
      if (!state) return { ok: false, reason: "not_found", available: 0n };
      const decision = decideReserve(state, r.amount);
      if (!decision.ok) return decision;
      const reserved = decision.reserved;
      const now = Date.now();
      insertReservation.run(r.reservation_id, r.conversation_id, r.amount.toString(), r.owner, now);
      setReserved.run(reserved.toString(), now, r.conversation_id);
      const next = { ...state, reserved, active_at: now };
      remember(this.#conversations, r.conversation_id, next);
      remember(this.#open, r.reservation_id, { conversation_id: r.conversation_id, amount: r.amount });
      return { ok: true, state: next };
    };

    this.#settleOp = (id, cost) => {
      let res = this.#open.get(id);
      if (!res) {
        const row = this.#selectReservation.get(id);
        if (!row) return undefined;
        if (row.state === "settled") return toSettlement(row);
        res = { conversation_id: row.conversation_id, amount: BigInt(row.amount) };
      }
      const state = this.#state(res.conversation_id)!;
      const { charged, spent, reserved } = decideSettle(state, res.amount, cost);
      const now = Date.now();
      const next = { ...state, spent, reserved, active_at: now };
      setLedger.run(next.spent.toString(), next.reserved.toString(), now, state.conversation_id);
      markSettled.run(charged.toString(), now, id);
      remember(this.#conversations, state.conversation_id, next);
      this.#open.delete(id);
      return {
        reservation_id: id,
        conversation_id: res.conversation_id,
        reserved: res.amount,
        charged,
        settled_at: now,
      };
    };

    const transaction = db.transaction((ops: Array<() => unknown>) => {
      this.#syncCache(); // under the write lock: nobody else can commit until we do
      return ops.map((op) => op());
    });
    this.#inTransaction = (ops) => transaction.immediate(ops);
  }

  #claimContract(contractId: string, path: string): void {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'contract_id'").get() as
      | { value: string }
      | undefined;
    if (row && row.value !== contractId) {
      this.#db.close();
      throw new StoreContractError(
        `the ledger ${path} belongs to contract ${row.value}, not ${contractId}: a proxy of another contract must use its own store.path`,
      );
    }
    if (!row)
      this.#db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('contract_id', ?)").run(contractId);
  }

  async claimInstance(lease: InstanceLease, replacing?: string): Promise<LeaseResult> {
    const claim = this.#db.transaction((): LeaseResult => {
      const row = this.#db.prepare("SELECT lease FROM instances WHERE id = ?").get(lease.id) as
        | { lease: string }
        | undefined;
      const held = row ? (JSON.parse(row.lease) as InstanceLease) : undefined;
      if (held && held.nonce !== lease.nonce && held.nonce !== replacing && held.expires_at > Date.now())
        return { ok: false, held };
      this.#db
        .prepare("INSERT OR REPLACE INTO instances (id, lease) VALUES (?, ?)")
        .run(lease.id, JSON.stringify(lease));
      return { ok: true };
    });
    return claim.immediate();
  }

  async releaseInstance(lease: InstanceLease): Promise<void> {
    if (!this.#db.open) return;
    this.#db
      .prepare("DELETE FROM instances WHERE id = ? AND json_extract(lease, '$.nonce') = ?")
      .run(lease.id, lease.nonce);
  }

  /**
   * For reads: the data_version check at most once per event-loop turn (a read is only ever as
   * fresh as its turn anyway; every write re-checks under the write lock).
   */
  #syncCacheThisTurn(): void {
    if (this.#checkedThisTurn) return;
    this.#checkedThisTurn = true;
    setImmediate(this.#nextTurn);
    this.#syncCache();
  }

  readonly #nextTurn = (): void => {
    this.#checkedThisTurn = false;
  };

  /** Drops the caches if another connection committed since this one last looked. */
  #syncCache(): void {
    const version = this.#dataVersionOf.get()!;
    if (version === this.#dataVersion) return;
    this.#dataVersion = version;
    this.#forgetCache();
  }

  #forgetCache(): void {
    this.#conversations.clear();
    this.#open.clear();
  }

  #state(conversationId: string): ConversationState | undefined {
    const cached = this.#conversations.get(conversationId);
    if (cached) return cached;
    const row = this.#selectConversation.get(conversationId);
    if (!row) return undefined;
    const state = toState(row);
    remember(this.#conversations, conversationId, state);
    return state;
  }

  async ensureConversation(init: NewConversation): Promise<ConversationState> {
    this.#db
      .prepare(
        "INSERT INTO conversations (id, receiver_id, deposit, created_at, escrow_created_at, escrow_expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
      )
      .run(
        init.conversation_id,
        init.receiver_id,
        init.deposit.toString(),
        Date.now(),
        init.escrow?.created_at.toString() ?? null,
        init.escrow?.expires_at.toString() ?? null,
      );
    this.#syncCache();
    return this.#state(init.conversation_id)!;
  }

  async getConversation(conversationId: string): Promise<ConversationState | undefined> {
    this.#syncCacheThisTurn();
    return this.#state(conversationId);
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    return this.#enqueue(() => this.#reserveOp(request));
  }

  async settle(reservationId: string, cost: bigint): Promise<Settlement | undefined> {
    return this.#enqueue(() => this.#settleOp(reservationId, cost));
  }

  /**
   * Group commit: reserves and settles issued in the same event-loop turn share one transaction,
   * committed in the check phase of that turn (setImmediate: after I/O callbacks, no timer). Each
   * caller's promise resolves only after the COMMIT, so "reserved before the upstream is called"
   * and "settled before the stream ends" hold exactly as with one transaction per call (T14); the
   * ledger logic inside is unchanged and runs in call order. Under load this turns ~9 WAL frames and
   * ~15 lock syscalls per request into a shared handful per batch.
   */
  #enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const ops = this.#queue;
    this.#queue = [];
    if (ops.length === 0) return;
    let values: unknown[];
    try {
      values = this.#inTransaction(ops.map((op) => op.run));
    } catch (e) {
      // Rolled back: the cache may hold what the failed transaction wrote.
      this.#forgetCache();
      if (ops.length === 1) ops[0]!.reject(e);
      // One op failed (a duplicate reservation id, say) or BEGIN/COMMIT did (busy past
      // busy_timeout, disk full): run each alone so only the failing ones fail.
      else for (const op of ops) this.#runAlone(op);
      return;
    }
    for (const [i, op] of ops.entries()) op.resolve(values[i]);
  };

  #runAlone(op: LedgerOp): void {
    try {
      op.resolve(this.#inTransaction([op.run])[0]);
    } catch (e) {
      this.#forgetCache();
      op.reject(e);
    }
  }

  async openReservations(filter: { conversation_id?: string; owner?: string } = {}): Promise<Reservation[]> {
    const rows = this.#db
      .prepare(
        `SELECT * FROM reservations WHERE state = 'open'
           AND (@cid IS NULL OR conversation_id = @cid) AND (@owner IS NULL OR owner = @owner)
         ORDER BY created_at`,
      )
      .all({ cid: filter.conversation_id ?? null, owner: filter.owner ?? null }) as ReservationRow[];
    return rows.map((r) => ({
      reservation_id: r.id,
      conversation_id: r.conversation_id,
      amount: BigInt(r.amount),
      owner: r.owner,
      created_at: r.created_at,
    }));
  }

  async settlements(conversationId: string): Promise<Settlement[]> {
    const rows = this.#db
      .prepare(
        "SELECT * FROM reservations WHERE conversation_id = ? AND state = 'settled' ORDER BY settled_at, id",
      )
      .all(conversationId) as ReservationRow[];
    return rows.map(toSettlement);
  }

  async closeConversation(conversationId: string): Promise<ConversationState | undefined> {
    this.#db.prepare("UPDATE conversations SET status = 'closed' WHERE id = ?").run(conversationId);
    this.#conversations.delete(conversationId);
    return this.getConversation(conversationId);
  }

  async getRefund(conversationId: string): Promise<SignedRefund | undefined> {
    const row = this.#selectConversation.get(conversationId);
    return row?.refund_message && row.refund_signature
      ? { refund_message: row.refund_message, signature: row.refund_signature }
      : undefined;
  }

  async saveRefund(conversationId: string, refund: SignedRefund): Promise<SignedRefund> {
    // Signing a refund is activity: settlement gives its opener idle_after to submit it.
    this.#db
      .prepare(
        "UPDATE conversations SET refund_message = ?, refund_signature = ?, active_at = ? WHERE id = ? AND refund_message IS NULL",
      )
      .run(refund.refund_message, refund.signature, Date.now(), conversationId);
    this.#conversations.delete(conversationId);
    const stored = await this.getRefund(conversationId);
    if (!stored) throw new Error(`cannot save a refund for unknown conversation ${conversationId}`);
    return stored;
  }

  async unsettledConversations(): Promise<ConversationState[]> {
    const rows = this.#db
      .prepare("SELECT * FROM conversations WHERE payout_final = 0")
      .all() as ConversationRow[];
    return rows.map(toState);
  }

  async updatePayout(
    conversationId: string,
    change: (current: Payout | undefined, state: ConversationState) => Payout | undefined,
  ): Promise<Payout | undefined> {
    const update = this.#db.transaction((): Payout | undefined => {
      const row = this.#selectConversation.get(conversationId);
      if (!row) return undefined;
      const state = toState(row);
      const next = change(state.payout, state);
      if (!next) return state.payout;
      this.#db
        .prepare("UPDATE conversations SET payout = ?, payout_final = ? WHERE id = ?")
        .run(JSON.stringify(next), isFinalPayout(next) ? 1 : 0, conversationId);
      return next;
    });
    const result = update.immediate();
    this.#conversations.delete(conversationId);
    return result;
  }

  async dispose(): Promise<void> {
    if (this.#db.open) this.#flush(); // commit what was queued in this turn
    // The worker's connection closes first, so this one is the last and leaves a checkpointed file.
    await this.#checkpointer?.stop();
    if (this.#db.open) this.#db.close();
  }
}
