// `npm run bench:metering`: what the prompt bound costs, cheap (UTF-8 bytes) against exact (the
// o200k_base tokenizer), on the same long prompt in the same run, as a ratio. The proxy counts
// exactly only when the byte bound does not fit a conversation's free balance; this shows why.
// BENCH_PROMPT_KB (128) sets the prompt size, BENCH_ROUNDS (7) the rounds (median reported).
import { OPENAI_OVERHEAD, promptTokensBound } from "#internal/proxy/metering/bound";
import { DEFAULT_AUDIO, GPT_4O_IMAGES } from "#internal/proxy/metering/media";
import {
  bytesCounter,
  loadTokenizers,
  type TokenCounter,
  tokenCounter,
} from "#internal/proxy/metering/tokens";

const kb = Number(process.env["BENCH_PROMPT_KB"] ?? 128);
const rounds = Math.max(1, Number(process.env["BENCH_ROUNDS"] ?? 7));
const paragraph =
  "The quick brown fox jumps over the lazy dog. 日本語のテキストも少し。 Emoji 🎉 and code: function f(x) { return x * 2; }\n";
const text = paragraph.repeat(Math.ceil((kb * 1024) / Buffer.byteLength(paragraph)));
// A long conversation: 64 messages sharing the text.
const chunk = Math.ceil(text.length / 64);
const body = {
  messages: Array.from({ length: 64 }, (_, i) => ({
    role: i % 2 ? "assistant" : "user",
    content: text.slice(i * chunk, (i + 1) * chunk),
  })),
};
const costs = { overhead: OPENAI_OVERHEAD, images: GPT_4O_IMAGES, audio: DEFAULT_AUDIO };

let started = performance.now();
await loadTokenizers(["o200k_base"]);
const loadMs = performance.now() - started;
const exact = tokenCounter("o200k_base");

function time(counter: TokenCounter): { ms: number; tokens: number } {
  const samples: number[] = [];
  let tokens = 0;
  for (let r = 0; r < rounds; r++) {
    started = performance.now();
    tokens = promptTokensBound(body, costs, counter);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, tokens };
}

time(bytesCounter); // warm-up
time(exact);
const results: Array<[string, ReturnType<typeof time>]> = [];
// ABBA: each counter runs first in half of the pairs.
for (let i = 0; i < 2; i++) {
  const pair: Array<[string, TokenCounter]> = [
    ["bytes (cheap bound)", bytesCounter],
    ["o200k_base (exact)", exact],
  ];
  if (i === 1) pair.reverse();
  for (const [name, counter] of pair) results.push([name, time(counter)]);
}
const best = (name: string) =>
  results
    .filter(([n]) => n === name)
    .reduce((a, [, r]) => (a && a.ms <= r.ms ? a : r), undefined as ReturnType<typeof time> | undefined)!;
const bytes = best("bytes (cheap bound)");
const tok = best("o200k_base (exact)");
const size = Buffer.byteLength(text);
console.log(
  `prompt: ${(size / 1024).toFixed(0)} KB in 64 messages; o200k_base loaded in ${loadMs.toFixed(0)} ms (once per process)`,
);
console.log(`bytes (cheap bound): ${bytes.ms.toFixed(3)} ms, bound ${bytes.tokens} tokens`);
console.log(
  `o200k_base (exact):  ${tok.ms.toFixed(3)} ms, ${tok.tokens} tokens (${((tok.ms * 1e6) / size).toFixed(0)} ns/byte)`,
);
console.log(
  `exact / cheap: ${(tok.ms / bytes.ms).toFixed(0)}x the time; the byte bound is ${(bytes.tokens / tok.tokens).toFixed(2)}x the exact count`,
);
