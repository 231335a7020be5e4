// The chain's world state: accounts, access keys, contract code and contract data, kept in memory.
// Every write goes through a journal so that a failed receipt can undo exactly its own changes, and
// so that the block producer can hand the set of touched records to persistence.
import type { AccessKey } from "../vm/types.js";

export interface AccountRecord {
  amount: bigint;
  locked: bigint;
  /** base58 sha256 of the code, or 32 ones (base58 of 32 zero bytes) when there is none. */
  codeHash: string;
  storageUsage: bigint;
}

export const EMPTY_CODE_HASH = "11111111111111111111111111111111";

/** A record as persistence sees it: the current value of one entry, null when it was removed. */
export type StateRecord =
  | { kind: "account"; accountId: string; value: AccountRecord | null }
  | { kind: "key"; accountId: string; publicKey: string; value: AccessKey | null }
  | { kind: "code"; accountId: string; value: Uint8Array | null }
  | { kind: "data"; accountId: string; key: string; value: Uint8Array | null };

type UndoEntry =
  | { kind: "account"; accountId: string; prev: AccountRecord | undefined }
  | { kind: "key"; accountId: string; publicKey: string; prev: AccessKey | undefined }
  | { kind: "code"; accountId: string; prev: Uint8Array | undefined }
  | { kind: "data"; accountId: string; key: string; prev: Uint8Array | undefined };

export class ChainState {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly keys = new Map<string, Map<string, AccessKey>>();
  private readonly code = new Map<string, Uint8Array>();
  private readonly data = new Map<string, Map<string, Uint8Array>>();
  private journal: UndoEntry[] = [];
  private readonly dirty = new Map<string, StateRecord>();

  getAccount(id: string): AccountRecord | undefined {
    return this.accounts.get(id);
  }

  hasAccount(id: string): boolean {
    return this.accounts.has(id);
  }

  accountIds(): IterableIterator<string> {
    return this.accounts.keys();
  }

  getAccessKey(id: string, publicKey: string): AccessKey | undefined {
    return this.keys.get(id)?.get(publicKey);
  }

  accessKeys(id: string): [string, AccessKey][] {
    return [...(this.keys.get(id) ?? new Map<string, AccessKey>()).entries()];
  }

  getCode(id: string): Uint8Array | undefined {
    return this.code.get(id);
  }

  getData(id: string, key: string): Uint8Array | undefined {
    return this.data.get(id)?.get(key);
  }

  /** Contract data of `id` whose key starts with `prefix`, sorted bytewise like nearcore's trie. */
  dataEntries(id: string, prefix = ""): [string, Uint8Array][] {
    const all = this.data.get(id);
    if (!all) return [];
    return [...all.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  setAccount(id: string, value: AccountRecord | undefined): void {
    this.journal.push({ kind: "account", accountId: id, prev: this.accounts.get(id) });
    if (value) this.accounts.set(id, value);
    else this.accounts.delete(id);
    this.dirty.set(`a:${id}`, { kind: "account", accountId: id, value: value ?? null });
  }

  setAccessKey(id: string, publicKey: string, value: AccessKey | undefined): void {
    let forAccount = this.keys.get(id);
    this.journal.push({ kind: "key", accountId: id, publicKey, prev: forAccount?.get(publicKey) });
    if (value) {
      if (!forAccount) {
        forAccount = new Map();
        this.keys.set(id, forAccount);
      }
      forAccount.set(publicKey, value);
    } else if (forAccount) {
      forAccount.delete(publicKey);
      if (forAccount.size === 0) this.keys.delete(id);
    }
    this.dirty.set(`k:${id}:${publicKey}`, { kind: "key", accountId: id, publicKey, value: value ?? null });
  }

  setCode(id: string, value: Uint8Array | undefined): void {
    this.journal.push({ kind: "code", accountId: id, prev: this.code.get(id) });
    if (value) this.code.set(id, value);
    else this.code.delete(id);
    this.dirty.set(`c:${id}`, { kind: "code", accountId: id, value: value ?? null });
  }

  setData(id: string, key: string, value: Uint8Array | undefined): void {
    let forAccount = this.data.get(id);
    this.journal.push({ kind: "data", accountId: id, key, prev: forAccount?.get(key) });
    if (value) {
      if (!forAccount) {
        forAccount = new Map();
        this.data.set(id, forAccount);
      }
      forAccount.set(key, value);
    } else if (forAccount) {
      forAccount.delete(key);
      if (forAccount.size === 0) this.data.delete(id);
    }
    this.dirty.set(`d:${id}:${key}`, { kind: "data", accountId: id, key, value: value ?? null });
  }

  /** Removes everything an account owns (DeleteAccount). */
  deleteAccountRecords(id: string): void {
    for (const [pk] of this.accessKeys(id)) this.setAccessKey(id, pk, undefined);
    for (const [k] of this.dataEntries(id)) this.setData(id, k, undefined);
    if (this.code.has(id)) this.setCode(id, undefined);
    this.setAccount(id, undefined);
  }

  checkpoint(): number {
    return this.journal.length;
  }

  /** Undoes every write made since `checkpoint`. Dirty marks stay: persistence then rewrites the old value. */
  rollback(checkpoint: number): void {
    while (this.journal.length > checkpoint) {
      const entry = this.journal.pop() as UndoEntry;
      const journalLength = this.journal.length;
      switch (entry.kind) {
        case "account":
          this.setAccount(entry.accountId, entry.prev);
          break;
        case "key":
          this.setAccessKey(entry.accountId, entry.publicKey, entry.prev);
          break;
        case "code":
          this.setCode(entry.accountId, entry.prev);
          break;
        case "data":
          this.setData(entry.accountId, entry.key, entry.prev);
          break;
      }
      this.journal.length = journalLength;
    }
  }

  /** The records written since the last call, for persistence; also forgets the undo journal. */
  takeChanges(): StateRecord[] {
    const out = [...this.dirty.values()];
    this.dirty.clear();
    this.journal = [];
    return out;
  }

  /** Every record, for a persistence snapshot. */
  allRecords(): StateRecord[] {
    const out: StateRecord[] = [];
    for (const [accountId, value] of this.accounts) out.push({ kind: "account", accountId, value });
    for (const [accountId, keys] of this.keys)
      for (const [publicKey, value] of keys) out.push({ kind: "key", accountId, publicKey, value });
    for (const [accountId, value] of this.code) out.push({ kind: "code", accountId, value });
    for (const [accountId, entries] of this.data)
      for (const [key, value] of entries) out.push({ kind: "data", accountId, key, value });
    return out;
  }

  /** Applies a persisted record without journaling (loading from disk). */
  load(record: StateRecord): void {
    const map = <V>(m: Map<string, Map<string, V>>, id: string) => {
      let inner = m.get(id);
      if (!inner) {
        inner = new Map();
        m.set(id, inner);
      }
      return inner;
    };
    switch (record.kind) {
      case "account":
        if (record.value) this.accounts.set(record.accountId, record.value);
        else this.accounts.delete(record.accountId);
        break;
      case "key":
        if (record.value) map(this.keys, record.accountId).set(record.publicKey, record.value);
        else this.keys.get(record.accountId)?.delete(record.publicKey);
        break;
      case "code":
        if (record.value) this.code.set(record.accountId, record.value);
        else this.code.delete(record.accountId);
        break;
      case "data":
        if (record.value) map(this.data, record.accountId).set(record.key, record.value);
        else this.data.get(record.accountId)?.delete(record.key);
        break;
    }
  }
}
