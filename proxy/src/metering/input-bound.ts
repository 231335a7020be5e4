// An upper bound of the tokens an embeddings input can be billed: a byte-level BPE tokenizer never
// yields more tokens than the text has UTF-8 bytes, and a token-array input is its own count. Exact
// enough for a reservation (embeddings prices are small) and free to compute.

export function embeddingInputTokens(input: unknown): number {
  if (typeof input === "string") return Math.max(1, Buffer.byteLength(input, "utf8"));
  if (!Array.isArray(input)) return 1;
  if (input.every((x) => typeof x === "number")) return Math.max(1, input.length);
  return input.reduce((sum: number, item) => sum + embeddingInputTokens(item), 0);
}
