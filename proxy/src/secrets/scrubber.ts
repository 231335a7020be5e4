// Scrubbing secrets out of text the proxy did not write itself (T22). Two rules:
// - By value, everywhere (upstream answers, streams, errors, logs): every configured secret value
//   (upstream API keys of any format, the 0G key, the refund key, NATS seeds) is replaced, whatever
//   an upstream echoes. Exact values cannot have false positives, so model output is touched only
//   when it really contains a secret.
// - By format, in errors and logs only: strings that look like credentials (sk-…, 32-hex Azure keys,
//   GitHub/AWS/Google/Slack tokens, JWTs, nkey seeds, Bearer headers). Applying these to completions
//   would corrupt legitimate output (an md5 is 32 hex digits), so answers get the by-value rule only.
export const REDACTED = "[redacted]";

/** Shorter values are not scrubbed by value: they would match ordinary text. */
const MIN_SECRET_LENGTH = 8;

const KEY_FORMATS: RegExp[] = [
  /\b(?:sk|pk|rk)-[A-Za-z0-9_\-*]{6,}/g,
  /\b[0-9a-fA-F]{32}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{30,}/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  /\bS[UOAN][A-Z2-7]{56}\b/g,
  /Bearer\s+\S+/gi,
];

/** Credential-looking strings replaced; no configured values needed (errors built without a context). */
export function scrubKeyFormats(text: string): string {
  let out = text;
  for (const re of KEY_FORMATS)
    out = out.replace(re, (m) => (/^bearer/i.test(m) ? `Bearer ${REDACTED}` : REDACTED));
  return out;
}

export class Scrubber {
  /** Values and their encoded forms (without 0x, JSON-escaped), longest first. */
  readonly #values: string[];
  readonly #bytes: Buffer[];
  /** Longest value in bytes: a stream holds back at most this minus one byte. */
  readonly longest: number;

  constructor(values: Iterable<string | undefined>) {
    const set = new Set<string>();
    for (const raw of values) {
      const v = raw?.trim();
      if (!v || v.length < MIN_SECRET_LENGTH) continue;
      set.add(v);
      if (/^0x[0-9a-fA-F]+$/.test(v) && v.length - 2 >= MIN_SECRET_LENGTH) set.add(v.slice(2));
      const escaped = JSON.stringify(v).slice(1, -1);
      if (escaped !== v) set.add(escaped);
    }
    this.#values = [...set].sort((a, b) => b.length - a.length);
    this.#bytes = this.#values.map((v) => Buffer.from(v, "utf8"));
    this.longest = this.#bytes.reduce((n, b) => Math.max(n, b.length), 0);
  }

  get empty(): boolean {
    return this.#values.length === 0;
  }

  /** True when text contains a configured value. */
  contains(text: string): boolean {
    for (const v of this.#values) if (text.includes(v)) return true;
    return false;
  }

  /** Configured values replaced (answers and streams). */
  values(text: string): string {
    if (!this.contains(text)) return text;
    let out = text;
    for (const v of this.#values) out = out.replaceAll(v, REDACTED);
    return out;
  }

  /** Configured values and credential-looking strings replaced (errors and logs). */
  text(text: string): string {
    return scrubKeyFormats(this.values(text));
  }

  /** A scrubber for one byte stream (an SSE relay): see StreamScrubber. */
  stream(): StreamScrubber {
    return new StreamScrubber(this.#bytes);
  }
}

const redactedBytes = Buffer.from(REDACTED);

/**
 * By-value scrubbing of a byte stream whose chunks may split a secret. A chunk is passed on at once
 * unless its end could be the start of a secret; only then are those last bytes held for the next
 * chunk. SSE chunks end in "\n\n", which no key contains, so in practice nothing is ever held.
 */
export class StreamScrubber {
  readonly #values: Buffer[];
  #held: Buffer | undefined;

  constructor(values: Buffer[]) {
    this.#values = values;
  }

  push(chunk: Uint8Array): Uint8Array {
    let buf = this.#held
      ? Buffer.concat([this.#held, chunk])
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#held = undefined;
    for (const v of this.#values) if (buf.indexOf(v) >= 0) buf = replaceAll(buf, v);
    const keep = this.#possiblePrefix(buf);
    if (keep === 0) return buf;
    this.#held = Buffer.from(buf.subarray(buf.length - keep));
    return buf.subarray(0, buf.length - keep);
  }

  /** What is still held (the stream ended). */
  end(): Uint8Array | undefined {
    const held = this.#held;
    this.#held = undefined;
    return held;
  }

  /** Length of the longest suffix of buf that is a proper prefix of a secret (0 almost always). */
  #possiblePrefix(buf: Buffer): number {
    if (buf.length === 0) return 0;
    const last = buf[buf.length - 1]!;
    let keep = 0;
    for (const v of this.#values) {
      if (v.indexOf(last) < 0) continue;
      for (let k = Math.min(v.length - 1, buf.length); k > keep; k--) {
        if (buf.compare(v, 0, k, buf.length - k) === 0) {
          keep = k;
          break;
        }
      }
    }
    return keep;
  }
}

function replaceAll(buf: Buffer, value: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = buf.indexOf(value); at >= 0; at = buf.indexOf(value, from)) {
    parts.push(buf.subarray(from, at), redactedBytes);
    from = at + value.length;
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}
