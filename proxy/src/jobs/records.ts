// The jobs KV bucket: one JSON record per job under its id, read with its revision, written whole
// (stamped updated_at), or compare-and-set against a revision. The bucket's TTL expires records that
// nobody keeps alive; a worker holding a job keeps its record alive (RecordWriter).
import type { KV } from "nats";
import type { JobRecord } from "./types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const nowSeconds = () => Math.floor(Date.now() / 1000);
const encode = (record: JobRecord) => encoder.encode(JSON.stringify({ ...record, updated_at: nowSeconds() }));

export class JobRecords {
  constructor(private readonly kv: KV) {}

  /** The record and its KV revision (for compare-and-set); no record when expired or never written. */
  async read(id: string): Promise<{ record: JobRecord | undefined; revision: number }> {
    const entry = await this.kv.get(id);
    const record =
      entry?.operation === "PUT" && entry.value.length > 0
        ? (JSON.parse(decoder.decode(entry.value)) as JobRecord)
        : undefined;
    return { record, revision: entry?.revision ?? 0 };
  }

  async put(record: JobRecord): Promise<void> {
    await this.kv.put(record.id, encode(record));
  }

  /** Compare-and-set; false when the record changed (or expired) since `revision`. */
  async cas(record: JobRecord, revision: number): Promise<boolean> {
    try {
      await this.kv.update(record.id, encode(record), revision);
      return true;
    } catch {
      return false; // a conflict; if NATS itself is down, the caller's next read throws
    }
  }

  async delete(id: string): Promise<void> {
    await this.kv.delete(id);
  }

  writer(record: JobRecord): RecordWriter {
    return new RecordWriter(this.kv, record);
  }
}

/**
 * Writes one job's record in order (puts never overtake each other) and keeps it alive while its
 * worker holds the job: a record only expires (KV TTL) when nobody works on the job, so "no record"
 * means "never started" (or finished long ago).
 */
export class RecordWriter {
  #chain: Promise<unknown> = Promise.resolve();
  #lastWrite = Date.now();
  #refreshing = false;
  constructor(
    private readonly kv: KV,
    public record: JobRecord,
  ) {}

  write(patch: Partial<JobRecord> = {}): Promise<void> {
    return this.replace({ ...this.record, ...patch });
  }

  replace(record: JobRecord): Promise<void> {
    this.record = record;
    const snapshot = encode(record);
    const p = this.#chain.then(() => this.kv.put(this.record.id, snapshot));
    this.#chain = p.then(
      () => {
        this.#lastWrite = Date.now();
      },
      () => {},
    );
    return p.then(() => {});
  }

  refreshIfOlderThan(ms: number, onError: (e: unknown) => void): void {
    if (this.#refreshing || Date.now() - this.#lastWrite < ms) return;
    this.#refreshing = true;
    this.write()
      .catch(onError)
      .finally(() => {
        this.#refreshing = false;
      });
  }
}
