// Prompt-size estimate for reservations. No tokenizer: it would tie the proxy to one model family.
// Serialized prompt characters / chars_per_token (3 by default) over-counts English (~4 chars per token)
// on purpose, so reservations rarely fall short of the real usage; settlement uses the real usage.

const PER_MESSAGE_OVERHEAD = 4;

export function estimatePromptTokens(body: Record<string, unknown>, charsPerToken: number): number {
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as unknown[]) : [];
  let chars = JSON.stringify(messages).length;
  if (body["tools"] !== undefined) chars += JSON.stringify(body["tools"]).length;
  if (body["response_format"] !== undefined) chars += JSON.stringify(body["response_format"]).length;
  return Math.ceil(chars / charsPerToken) + messages.length * PER_MESSAGE_OVERHEAD + 3;
}

/** Output estimate for a stream that ended without usage (cut upstream): the text it produced. */
export function estimateOutputTokens(producedChars: number, charsPerToken: number): number {
  return Math.ceil(producedChars / charsPerToken);
}
