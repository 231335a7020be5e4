// Shared conversation ledger on a NATS JetStream KV bucket, for proxies on several machines.
//
// Keys (amounts are base-10 strings: u128 does not fit a JSON number); <k> is the contract id
// (encoded), so entries of one contract are never read as another's (T19):
//   meta.contract                   the contract the bucket was created for; others refuse to open it
//   c.<k>.<conversation_id>         the conversation: deposit, spent, reserved, status, the OPEN
//                                   reservations, settlements not yet written out ("settling"), refund
//   x.<k>.<reservation>             reservation -> conversation pointer (settle gets only the id)
//   s.<k>.<conversation_id>.<res>   one settled reservation (immutable once written)
//   i.<k>.<instance_id>             the lease of a live proxy process on that identity (T20); the
//                                   settlement leader's lease is one too (id "@settlement")
//   u.<k>.<conversation_id>         settlement's work list: present while the payout is not final
//
// Every change to a conversation is one revision-checked `kv.update(key, value, revision)`
// (compare-and-set) retried on conflict, so reserve/settle/close/refund are atomic per conversation
// across any number of proxy processes and `0 <= spent + reserved <= deposit` always holds.
// Open reservations live inside the conversation record, so a reservation and its effect on
// `reserved` are written together: a process killed at any point loses no accounting; its
// reservations stay open (with their owner) until startup recovery or a refund bills them.
// Settling moves the reservation from `open` to `settling` in the same CAS as the ledger change; the
// s.* record is written next and the `settling` entry dropped after, so a settle interrupted between
// the two is completed by the next settle of that id and is never applied twice. The arithmetic is
// ledger.ts, shared with the SQLite store.
//
// One file over 350 lines on purpose: one class whose every change is a compare-and-set on the key
// layout above, so the layout, the CAS loop and the operations over it read together.
import { setTimeout as sleep } from "node:timers/promises";
import type { KV, KvEntry, NatsConnection } from "nats";
import { StorageType } from "nats";
import type { SignedRefund } from "#wire";
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

interface OpenRecord {
  amount: string;
  owner: string;
  created_at: number;
}

interface SettlementRecord {
  reserved: string;
  charged: string;
  settled_at: number;
}

interface ConversationRecord extends StoredLedger {
  conversation_id: string;
  open: Record<string, OpenRecord>;
  settling: Record<string, SettlementRecord>;
  refund?: SignedRefund;
  /** Nanosecond strings; absent in records written before escrow v2. */
  escrow?: { created_at: string; expires_at: string };
  /** ms of the last reservation, settle or signed refund (the idle clock). */
  active_at?: number;
  payout?: Payout;
}

export interface JetStreamStoreOptions {
  nc: NatsConnection;
  /** The contract this ledger belongs to: part of every key, stamped on the bucket. */
  contractId: string;
  bucket?: string;
  replicas?: number;
  /** Close the connection on dispose (the store opened it). */
  ownsConnection?: boolean;
  /** Give up after this many CAS conflicts in a row (a sign of a hot key; the caller sees an error). */
  maxRetries?: number;
}

const WRONG_LAST_SEQUENCE = 10071;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isConflict(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err?.api_error?.err_code === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test(err?.message ?? "");
}

/** KV keys allow [-/_=.A-Za-z0-9]; ids with other bytes (or dots, which split tokens) are encoded. */
function keyPart(id: string): string {
  return /^[-_A-Za-z0-9]{1,200}$/.test(id) ? id : `=${Buffer.from(id, "utf8").toString("base64url")}`;
}

function decodeKeyPart(part: string): string {
  return part.startsWith("=") ? Buffer.from(part.slice(1), "base64url").toString("utf8") : part;
}

function toState(r: ConversationRecord): ConversationState {
  return stateOf(r.conversation_id, r, r);
}

function toSettlement(reservationId: string, conversationId: string, s: SettlementRecord): Settlement {
  return {
    reservation_id: reservationId,
    conversation_id: conversationId,
    reserved: BigInt(s.reserved),
    charged: BigInt(s.charged),
    settled_at: s.settled_at,
  };
}

const json = <T>(entry: KvEntry | null): T | undefined =>
  entry && entry.operation === "PUT" && entry.value.length > 0
    ? (JSON.parse(decoder.decode(entry.value)) as T)
    : undefined;

/** Opening a bucket that another process is creating at the same moment. */
const CREATE_RACE = /subjects overlap|already in use|stream name already/i;
const CREATE_RACE_BUDGET_MS = 15_000;

export class JetStreamStore implements ConversationStore {
  readonly #kv: KV;
  readonly #nc: NatsConnection;
  readonly #ownsConnection: boolean;
  readonly #maxRetries: number;
  /** The encoded contract id, the second token of every ledger key. */
  readonly #k: string;

  private constructor(kv: KV, options: JetStreamStoreOptions) {
    this.#kv = kv;
    this.#nc = options.nc;
    this.#ownsConnection = options.ownsConnection ?? false;
    this.#maxRetries = options.maxRetries ?? 1000;
    this.#k = keyPart(options.contractId);
  }

  /**
   * Opens (creating if needed) the ledger bucket: file storage, one value per key. Refuses a bucket
   * stamped for another contract, or one holding entries without a stamp (a ledger from before
   * contract scoping, whose keys this layout would not see).
   */
  static async open(options: JetStreamStoreOptions): Promise<JetStreamStore> {
    const js = options.nc.jetstream();
    const bucket = options.bucket ?? "aiproxy_ledger";
    let kv: KV | undefined;
    // Two proxies starting together both try to create the bucket's stream; the loser binds to it
    // once the winner's stream exists, which on a loaded server can take seconds: the wait is bounded
    // by time, not by a count of short pauses (five of them, 300 ms in all, were not enough).
    const deadline = Date.now() + CREATE_RACE_BUDGET_MS;
    for (let attempt = 0; !kv; attempt++) {
      try {
        kv = await js.views.kv(bucket, {
          history: 1,
          replicas: options.replicas ?? 1,
          storage: StorageType.File,
        });
      } catch (e) {
        if (Date.now() > deadline || !CREATE_RACE.test((e as Error).message)) throw e;
        await sleep(Math.min(250, 20 * (attempt + 1)));
      }
    }
    await claimBucket(kv, bucket, options.contractId);
    return new JetStreamStore(kv, options);
  }

  #conversationKey(id: string): string {
    return `c.${this.#k}.${keyPart(id)}`;
  }

  #pointerKey(reservationId: string): string {
    return `x.${this.#k}.${keyPart(reservationId)}`;
  }

  #settledPrefix(conversationId: string): string {
    return `s.${this.#k}.${keyPart(conversationId)}.`;
  }

  #unsettledKey(id: string): string {
    return `u.${this.#k}.${keyPart(id)}`;
  }

  async #read(conversationId: string): Promise<{ record: ConversationRecord; revision: number } | undefined> {
    const entry = await this.#kv.get(this.#conversationKey(conversationId));
    const record = json<ConversationRecord>(entry);
    return record && entry ? { record, revision: entry.revision } : undefined;
  }

  /**
   * Compare-and-set loop: read, let `change` decide (return the new record, or undefined to leave it),
   * write with the read revision, retry from the read on a conflict.
   */
  async #mutate<T>(
    conversationId: string,
    change: (record: ConversationRecord) => { next?: ConversationRecord; result: T },
    missing: () => T,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.#read(conversationId);
      if (!current) return missing();
      const { next, result } = change(structuredClone(current.record));
      if (!next) return result;
      try {
        await this.#kv.update(
          this.#conversationKey(conversationId),
          encoder.encode(JSON.stringify(next)),
          current.revision,
        );
        return result;
      } catch (e) {
        if (!isConflict(e) || attempt >= this.#maxRetries) throw e;
        // Another proxy won the race; a short random pause spreads out a herd on one hot key.
        if (attempt > 2) await sleep(Math.random() * Math.min(20, attempt));
      }
    }
  }

  async ensureConversation(init: NewConversation): Promise<ConversationState> {
    const record: ConversationRecord = {
      conversation_id: init.conversation_id,
      receiver_id: init.receiver_id,
      deposit: init.deposit.toString(),
      spent: "0",
      reserved: "0",
      status: "open",
      created_at: Date.now(),
      open: {},
      settling: {},
      ...(init.escrow
        ? {
            escrow: {
              created_at: init.escrow.created_at.toString(),
              expires_at: init.escrow.expires_at.toString(),
            },
          }
        : {}),
    };
    // The work-list entry first: one without a conversation is dropped by the next settlement pass,
    // a conversation without one would never be settled.
    await this.#kv.put(this.#unsettledKey(init.conversation_id), encoder.encode(""));
    try {
      await this.#kv.create(
        this.#conversationKey(init.conversation_id),
        encoder.encode(JSON.stringify(record)),
      );
    } catch (e) {
      if (!isConflict(e)) throw e;
      // First writer wins: someone (maybe another proxy) inserted it already.
    }
    const stored = await this.#read(init.conversation_id);
    if (!stored) throw new Error(`conversation ${init.conversation_id} vanished from the ledger bucket`);
    return toState(stored.record);
  }

  async getConversation(conversationId: string): Promise<ConversationState | undefined> {
    const current = await this.#read(conversationId);
    return current ? toState(current.record) : undefined;
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    // The pointer first: if the process dies right after, it points at nothing and is harmless.
    await this.#kv.put(this.#pointerKey(request.reservation_id), encoder.encode(request.conversation_id));
    return this.#mutate<ReserveResult>(
      request.conversation_id,
      (r) => {
        const state = toState(r);
        const decision = decideReserve(state, request.amount);
        if (decision.ok && (request.reservation_id in r.open || request.reservation_id in r.settling))
          throw new Error(`reservation ${request.reservation_id} exists already`);
        if (!decision.ok) return { result: decision };
        const reserved = decision.reserved;
        r.reserved = reserved.toString();
        r.active_at = Date.now();
        r.open[request.reservation_id] = {
          amount: request.amount.toString(),
          owner: request.owner,
          created_at: Date.now(),
        };
        return { next: r, result: { ok: true, state: { ...state, reserved } } };
      },
      () => ({ ok: false, reason: "not_found", available: 0n }),
    );
  }

  async settle(reservationId: string, cost: bigint): Promise<Settlement | undefined> {
    const pointer = await this.#kv.get(this.#pointerKey(reservationId));
    if (pointer?.operation !== "PUT") return undefined;
    const conversationId = decoder.decode(pointer.value);
    const settledKey = `${this.#settledPrefix(conversationId)}${keyPart(reservationId)}`;
    // No read of s.* first: a settled id is in neither `open` nor `settling`, which the CAS below
    // reports as "gone" and then reads s.* (one round trip less on the hot path).

    const outcome = await this.#mutate<SettlementRecord | "gone">(
      conversationId,
      (r) => {
        const pending = r.settling[reservationId];
        if (pending) return { result: pending };
        const open = r.open[reservationId];
        if (!open) return { result: "gone" };
        const { charged, spent, reserved } = decideSettle(toState(r), BigInt(open.amount), cost);
        const settlement = { reserved: open.amount, charged: charged.toString(), settled_at: Date.now() };
        delete r.open[reservationId];
        r.settling[reservationId] = settlement;
        r.spent = spent.toString();
        r.reserved = reserved.toString();
        r.active_at = settlement.settled_at;
        return { next: r, result: settlement };
      },
      () => "gone",
    );
    if (outcome === "gone") {
      // Settled by a concurrent caller that finished everything meanwhile, or never reserved.
      const late = json<SettlementRecord>(await this.#kv.get(settledKey));
      return late ? toSettlement(reservationId, conversationId, late) : undefined;
    }
    try {
      await this.#kv.create(settledKey, encoder.encode(JSON.stringify(outcome)));
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
    // The settlement is durable on its own key now; the journal entry can go.
    await this.#mutate(
      conversationId,
      (r) => {
        if (!(reservationId in r.settling)) return { result: undefined };
        delete r.settling[reservationId];
        return { next: r, result: undefined };
      },
      () => undefined,
    );
    return toSettlement(reservationId, conversationId, outcome);
  }

  async #conversationIds(): Promise<string[]> {
    const ids: string[] = [];
    const prefix = `c.${this.#k}.`;
    for await (const key of await this.#kv.keys(`${prefix}*`))
      ids.push(decodeKeyPart(key.slice(prefix.length)));
    return ids;
  }

  async openReservations(filter: { conversation_id?: string; owner?: string } = {}): Promise<Reservation[]> {
    const ids = filter.conversation_id ? [filter.conversation_id] : await this.#conversationIds();
    const out: Reservation[] = [];
    for (const id of ids) {
      const current = await this.#read(id);
      if (!current) continue;
      for (const [reservation_id, o] of Object.entries(current.record.open)) {
        if (filter.owner !== undefined && o.owner !== filter.owner) continue;
        out.push({
          reservation_id,
          conversation_id: id,
          amount: BigInt(o.amount),
          owner: o.owner,
          created_at: o.created_at,
        });
      }
      // A settle interrupted after its CAS is finished by settling again (idempotent, no charge).
      for (const reservationId of Object.keys(current.record.settling)) await this.settle(reservationId, 0n);
    }
    return out.sort((a, b) => a.created_at - b.created_at);
  }

  async settlements(conversationId: string): Promise<Settlement[]> {
    const out: Settlement[] = [];
    const prefix = this.#settledPrefix(conversationId);
    const keys: string[] = [];
    for await (const key of await this.#kv.keys(`${prefix}*`)) keys.push(key);
    for (const key of keys) {
      const s = json<SettlementRecord>(await this.#kv.get(key));
      const part = key.slice(prefix.length);
      const rid = part.startsWith("=") ? Buffer.from(part.slice(1), "base64url").toString("utf8") : part;
      if (s) out.push(toSettlement(rid, conversationId, s));
    }
    const current = await this.#read(conversationId);
    for (const [rid, s] of Object.entries(current?.record.settling ?? {}))
      if (!out.some((x) => x.reservation_id === rid)) out.push(toSettlement(rid, conversationId, s));
    return out.sort((a, b) => a.settled_at - b.settled_at || (a.reservation_id < b.reservation_id ? -1 : 1));
  }

  async closeConversation(conversationId: string): Promise<ConversationState | undefined> {
    return this.#mutate<ConversationState | undefined>(
      conversationId,
      (r) => {
        if (r.status === "closed") return { result: toState(r) };
        r.status = "closed";
        return { next: r, result: toState(r) };
      },
      () => undefined,
    );
  }

  async getRefund(conversationId: string): Promise<SignedRefund | undefined> {
    return (await this.#read(conversationId))?.record.refund;
  }

  async saveRefund(conversationId: string, refund: SignedRefund): Promise<SignedRefund> {
    return this.#mutate<SignedRefund>(
      conversationId,
      (r) => {
        if (r.refund) return { result: r.refund };
        r.refund = { refund_message: refund.refund_message, signature: refund.signature };
        r.active_at = Date.now(); // activity: settlement gives the opener idle_after to submit it
        return { next: r, result: r.refund };
      },
      () => {
        throw new Error(`cannot save a refund for unknown conversation ${conversationId}`);
      },
    );
  }

  async unsettledConversations(): Promise<ConversationState[]> {
    const ids: string[] = [];
    const prefix = `u.${this.#k}.`;
    for await (const key of await this.#kv.keys(`${prefix}*`))
      ids.push(decodeKeyPart(key.slice(prefix.length)));
    const out: ConversationState[] = [];
    for (const id of ids) {
      const current = await this.#read(id);
      if (current && !isFinalPayout(current.record.payout)) out.push(toState(current.record));
      // A marker left by a final payout whose delete did not happen, or by an insert that died.
      else await this.#kv.delete(this.#unsettledKey(id)).catch(() => {});
    }
    return out;
  }

  async updatePayout(
    conversationId: string,
    change: (current: Payout | undefined, state: ConversationState) => Payout | undefined,
  ): Promise<Payout | undefined> {
    const stored = await this.#mutate<Payout | undefined>(
      conversationId,
      (r) => {
        const next = change(r.payout, toState(r));
        if (!next) return { result: r.payout };
        r.payout = next;
        return { next: r, result: next };
      },
      () => undefined,
    );
    if (isFinalPayout(stored)) await this.#kv.delete(this.#unsettledKey(conversationId));
    return stored;
  }

  async claimInstance(lease: InstanceLease, replacing?: string): Promise<LeaseResult> {
    const key = `i.${this.#k}.${keyPart(lease.id)}`;
    const value = encoder.encode(JSON.stringify(lease));
    for (let attempt = 0; ; attempt++) {
      const entry = await this.#kv.get(key);
      const held = json<InstanceLease>(entry);
      if (held && held.nonce !== lease.nonce && held.nonce !== replacing && held.expires_at > Date.now())
        return { ok: false, held };
      try {
        if (entry && entry.operation === "PUT") await this.#kv.update(key, value, entry.revision);
        else await this.#kv.create(key, value);
        return { ok: true };
      } catch (e) {
        if (!isConflict(e) || attempt >= 10) throw e; // someone else wrote it: look again
      }
    }
  }

  async releaseInstance(lease: InstanceLease): Promise<void> {
    const key = `i.${this.#k}.${keyPart(lease.id)}`;
    const entry = await this.#kv.get(key).catch(() => null);
    if (json<InstanceLease>(entry)?.nonce === lease.nonce) await this.#kv.delete(key).catch(() => {});
  }

  async dispose(): Promise<void> {
    if (this.#ownsConnection && !this.#nc.isClosed()) await this.#nc.drain().catch(() => {});
  }
}

/** The bucket's contract stamp: written by its first opener, checked by every later one (T19). */
async function claimBucket(kv: KV, bucket: string, contractId: string): Promise<void> {
  const stamp = await kv.get("meta.contract");
  const owner = stamp?.operation === "PUT" ? decoder.decode(stamp.value) : undefined;
  if (owner === undefined) {
    // Entries without a stamp: a ledger from before contract scoping; its keys would be invisible.
    for await (const key of await kv.keys()) {
      if (key === "meta.contract") continue;
      // Stamped meanwhile by a proxy starting at the same moment: check that stamp instead.
      if ((await kv.get("meta.contract"))?.operation === "PUT") return claimBucket(kv, bucket, contractId);
      throw new StoreContractError(
        `the ledger bucket ${bucket} holds entries from before ledgers carried their contract id (key ${key}); settle and refund its conversations with the previous version, or use a new store.bucket`,
      );
    }
    try {
      await kv.create("meta.contract", encoder.encode(contractId));
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
    return claimBucket(kv, bucket, contractId); // read back: a concurrent opener may have won
  }
  if (owner !== contractId)
    throw new StoreContractError(
      `the ledger bucket ${bucket} belongs to contract ${owner}, not ${contractId}: a proxy of another contract must use its own store.bucket`,
    );
}
