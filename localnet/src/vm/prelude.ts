// Script run in every fresh context before the contract: makes Date and Math.random functions of
// the block (timestamp, random seed) instead of the host, so calls are deterministic like on chain.
// It evaluates to a Uint8Array factory the host needs and leaves no other global behind.

/** `seedWords`: four 32-bit words of the receipt's random seed. */
export function preludeSource(nowMs: number, seedWords: [number, number, number, number]): string {
  return `(() => {
  const NOW = ${nowMs};
  const RealDate = Date;
  class BlockDate extends RealDate {
    constructor(...args) { if (args.length === 0) super(NOW); else super(...args); }
    static now() { return NOW; }
  }
  Object.defineProperty(BlockDate, "name", { value: "Date" });
  globalThis.Date = BlockDate;
  // sfc32, seeded from the block's random seed.
  let a = ${seedWords[0]} | 0, b = ${seedWords[1]} | 0, c = ${seedWords[2]} | 0, d = ${seedWords[3]} | 0;
  Math.random = function random() {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  return (buffer) => new Uint8Array(buffer);
})()`;
}

export function seedWords(seed: Uint8Array): [number, number, number, number] {
  const padded = new Uint8Array(16);
  padded.set(seed.subarray(0, 16));
  const view = new DataView(padded.buffer);
  return [
    view.getUint32(0, true),
    view.getUint32(4, true),
    view.getUint32(8, true),
    view.getUint32(12, true),
  ];
}
