// Conversation storage: the escrow records and each opener's index of them. Plain storage keys, not
// near-sdk-js collections: a few bytes and a little gas per record, and the byte count is what the
// opener pays (T07).
//   "c" + conversation_id        -> {r: receiver (opener), a: deposit, t: created_at ns, x: expires_at ns,
//                                    s?: "r" refunded | "x" reclaimed, f?: paid back to the opener}
//   "n" + account_id             -> how many conversations the account opened (decimal)
//   "i" + account_id + "#" + n   -> the conversation_id of its n-th one (0-based)
// A record with `s` is a tombstone: never removed, so an id and any refund signed for it are used once.
// The views' shapes come from wire/ (type-only: erased by the bundler, so the contract's runtime
// imports stay near-sdk-js alone).

import { near } from "near-sdk-js";
import type { ConversationStatus, ConversationView } from "#wire";

const RECORD = "c";
const COUNT = "n";
const INDEX = "i";

export interface ConversationRecord {
  r: string;
  a: string;
  t: string;
  /** Absent only in records written before expiry existed (read as t + the default lifetime). */
  x?: string;
  s?: "r" | "x";
  f?: string;
}

export function readRecord(id: string): ConversationRecord | null {
  const raw = near.storageRead(RECORD + id);
  return raw === null ? null : (JSON.parse(raw) as ConversationRecord);
}

export function writeRecord(id: string, record: ConversationRecord): void {
  near.storageWrite(RECORD + id, JSON.stringify(record));
}

export function recordExists(id: string): boolean {
  return near.storageHasKey(RECORD + id);
}

export function expiresAt(record: ConversationRecord, defaultSecs: number): bigint {
  return record.x === undefined ? BigInt(record.t) + BigInt(defaultSecs) * 1_000_000_000n : BigInt(record.x);
}

export type { ConversationStatus, ConversationView };

export function toView(id: string, record: ConversationRecord, defaultSecs: number): ConversationView {
  const expires = expiresAt(record, defaultSecs);
  let status: ConversationStatus = record.s === "r" ? "refunded" : record.s === "x" ? "reclaimed" : "open";
  if (status === "open" && near.blockTimestamp() >= expires) status = "expired";
  const view: ConversationView = {
    conversation_id: id,
    receiver_id: record.r,
    deposit: record.a,
    created_at: record.t,
    expires_at: expires.toString(),
    status,
  };
  if (record.f !== undefined) view.refund_amount = record.f;
  return view;
}

export function countOf(account: string): number {
  const raw = near.storageRead(COUNT + account);
  return raw === null ? 0 : Number(raw);
}

export function addToIndex(account: string, id: string): void {
  const n = countOf(account);
  near.storageWrite(`${INDEX}${account}#${n}`, id);
  near.storageWrite(COUNT + account, String(n + 1));
}

export function indexed(account: string, n: number): string | null {
  return near.storageRead(`${INDEX}${account}#${n}`);
}

/**
 * Bytes one conversation costs at most: a tombstone with a 64-character opener and 39-digit amounts,
 * its index entry, and the opener's counter being created. Clients attach this much (the excess is
 * refunded); `start` charges what its own writes measure.
 */
export function measureConversationStorage(): bigint {
  const before = near.storageUsage();
  const id = "0".repeat(64);
  const account = "a".repeat(64);
  const max = "9".repeat(39);
  const ns = "9".repeat(20);
  writeRecord(id, { r: account, a: max, t: ns, x: ns, s: "r", f: max });
  near.storageWrite(`${INDEX}${account}#9999999999`, id);
  near.storageWrite(COUNT + account, "9999999999");
  const bytes = near.storageUsage() - before;
  near.storageRemove(RECORD + id);
  near.storageRemove(`${INDEX}${account}#9999999999`);
  near.storageRemove(COUNT + account);
  return bytes;
}
