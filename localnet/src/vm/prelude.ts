// Script run in every context before the contract: makes Date and Math.random functions of the block
// (timestamp, random seed) instead of the host, so calls are deterministic like on chain.
// It evaluates to a setup function taking two host functions, which stay private to the closures
// below (no global reaches them). They read the *current* call's block, so a context kept in a
// snapshot across calls still sees each call's own timestamp and seed. The setup function returns
// the helpers the host needs (env-bindings.ts) and leaves no other global behind: a Uint8Array
// factory carrying `quote` (JSON of ToString(v), the lossless way out of the VM for a string) and
// `unquote` (JSON.parse, the way in), bound to the original JSON so that contract code replacing
// globals cannot reach them or change what they do.

/** `blockNowMs()` and `blockSeedWord(i)` are host functions; Math.random seeds itself on first use. */
export const PRELUDE_SOURCE = `(function setup(blockNowMs, blockSeedWord) {
  const RealDate = Date;
  class BlockDate extends RealDate {
    constructor(...args) { if (args.length === 0) super(blockNowMs()); else super(...args); }
    static now() { return blockNowMs(); }
  }
  Object.defineProperty(BlockDate, "name", { value: "Date" });
  globalThis.Date = BlockDate;
  // sfc32, seeded from the block's random seed.
  let seeded = false, a = 0, b = 0, c = 0, d = 0;
  Math.random = function random() {
    if (!seeded) {
      a = blockSeedWord(0) | 0; b = blockSeedWord(1) | 0; c = blockSeedWord(2) | 0; d = blockSeedWord(3) | 0;
      seeded = true;
    }
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  const { stringify, parse } = JSON;
  const helpers = (buffer) => new Uint8Array(buffer);
  helpers.quote = (v) => stringify(\`\${v}\`);
  helpers.unquote = (json) => parse(json);
  return helpers;
})`;

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
