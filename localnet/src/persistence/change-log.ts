// Persistence as an append-only JSON-lines log in the home dir: one line per block with the records
// that block wrote and its transactions' outcomes. On start the log is replayed and compacted into a
// single snapshot line, so start-up cost follows the state's size, not the chain's history.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Block } from "../chain/blocks.js";
import type { BlockEntry, StoredTransaction } from "../chain/chain.js";
import type { StateRecord } from "../chain/state.js";
import { bytesToKey, fromBase64, keyToBytes, stringifyJson, toBase64 } from "../encoding.js";
import type { AccessKey } from "../vm/types.js";

type Json = Record<string, unknown>;

interface LogLine {
  blocks: Json[];
  changes: Json[];
  txs: [string, StoredTransaction][];
}

export interface LoadedChain {
  blocks: Block[];
  records: StateRecord[];
  transactions: [string, StoredTransaction][];
}

function encodeRecord(r: StateRecord): Json {
  switch (r.kind) {
    case "account":
      return {
        t: "a",
        id: r.accountId,
        v: r.value && {
          amount: r.value.amount.toString(),
          locked: r.value.locked.toString(),
          code_hash: r.value.codeHash,
          storage_usage: r.value.storageUsage.toString(),
        },
      };
    case "key":
      return {
        t: "k",
        id: r.accountId,
        pk: r.publicKey,
        v: r.value && {
          nonce: r.value.nonce.toString(),
          permission:
            r.value.permission === "FullAccess"
              ? "FullAccess"
              : {
                  receiver_id: r.value.permission.receiverId,
                  method_names: r.value.permission.methodNames,
                  allowance: r.value.permission.allowance?.toString() ?? null,
                },
        },
      };
    case "code":
      return { t: "c", id: r.accountId, v: r.value && toBase64(r.value) };
    case "data":
      return { t: "d", id: r.accountId, k: toBase64(keyToBytes(r.key)), v: r.value && toBase64(r.value) };
  }
}

function decodeRecord(j: Json): StateRecord {
  const id = String(j.id);
  const v = j.v as Json | string | null;
  switch (j.t) {
    case "a": {
      const a = v as Json | null;
      return {
        kind: "account",
        accountId: id,
        value: a && {
          amount: BigInt(a.amount as string),
          locked: BigInt(a.locked as string),
          codeHash: String(a.code_hash),
          storageUsage: BigInt(a.storage_usage as string),
        },
      };
    }
    case "k": {
      const k = v as { nonce: string; permission: "FullAccess" | Json } | null;
      let value: AccessKey | null = null;
      if (k) {
        const p = k.permission;
        value = {
          nonce: BigInt(k.nonce),
          permission:
            p === "FullAccess"
              ? "FullAccess"
              : {
                  receiverId: String(p.receiver_id),
                  methodNames: p.method_names as string[],
                  allowance: p.allowance === null ? null : BigInt(p.allowance as string),
                },
        };
      }
      return { kind: "key", accountId: id, publicKey: String(j.pk), value };
    }
    case "c":
      return { kind: "code", accountId: id, value: v ? fromBase64(v as string) : null };
    case "d":
      return {
        kind: "data",
        accountId: id,
        key: bytesToKey(fromBase64(String(j.k))),
        value: v ? fromBase64(v as string) : null,
      };
    default:
      throw new Error(`unknown record type ${String(j.t)}`);
  }
}

const encodeBlock = (b: Block): Json => ({
  ...b,
  height: b.height.toString(),
  timestamp: b.timestamp.toString(),
});
const decodeBlock = (j: Json): Block => ({
  height: BigInt(j.height as string),
  hash: String(j.hash),
  prevHash: String(j.prevHash),
  timestamp: BigInt(j.timestamp as string),
  txHashes: j.txHashes as string[],
});

export class ChangeLog {
  constructor(readonly path: string) {}

  /** Replays the log; undefined when there is none yet. A torn last line (crash mid-write) is ignored. */
  load(): LoadedChain | undefined {
    if (!existsSync(this.path)) return undefined;
    const loaded: LoadedChain = { blocks: [], records: [], transactions: [] };
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line);
      } catch {
        break;
      }
      loaded.blocks.push(...parsed.blocks.map(decodeBlock));
      loaded.records.push(...parsed.changes.map(decodeRecord));
      loaded.transactions.push(...parsed.txs);
    }
    return loaded.blocks.length > 0 ? loaded : undefined;
  }

  /** Rewrites the log as one snapshot line (atomic rename). */
  compact(blocks: Block[], records: StateRecord[], transactions: [string, StoredTransaction][]): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const line: LogLine = {
      blocks: blocks.map(encodeBlock),
      changes: records.map(encodeRecord),
      txs: transactions,
    };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${stringifyJson(line)}\n`);
    renameSync(tmp, this.path);
  }

  /** Appends one block. Written synchronously so that a block is on disk before its RPC answer. */
  append(entry: BlockEntry): void {
    const line: LogLine = {
      blocks: [encodeBlock(entry.block)],
      changes: entry.changes.map(encodeRecord),
      txs: entry.transactions,
    };
    appendFileSync(this.path, `${stringifyJson(line)}\n`);
  }
}
