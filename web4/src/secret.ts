// The conversation secret is the proxy's bearer key; only its sha256 goes on chain. It stays in this
// browser's localStorage (keyed by contract and account) and is never put in a URL.

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** 32 random bytes from the platform CSPRNG, hex encoded (the form the proxy receives as bearer). */
export function newSecret(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** conversation_id = hex(sha256(UTF-8 bytes of the secret string)), exactly as the proxy hashes it. */
export async function conversationIdOf(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return toHex(new Uint8Array(digest));
}

export interface StoredConversation {
  secret: string;
  conversation_id: string;
  /** Raw token units escrowed, as a base-10 string. */
  amount: string;
  created_at: number;
  /** "pending" until start_ai_conversation succeeded; kept so a failed/abandoned start is visible. */
  state: "pending" | "open" | "ending" | "refunded";
}

export function conversationKey(contractId: string, accountId: string): string {
  return `aiconv:v1:${contractId}:${accountId}`;
}

/** Minimal storage surface so tests can pass a Map-backed fake. */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function loadConversation(
  store: KeyValue,
  contractId: string,
  accountId: string,
): StoredConversation | null {
  const raw = store.getItem(conversationKey(contractId, accountId));
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as StoredConversation;
    return typeof parsed.secret === "string" && /^[0-9a-f]{64}$/.test(parsed.conversation_id) ? parsed : null;
  } catch {
    return null;
  }
}

export function saveConversation(
  store: KeyValue,
  contractId: string,
  accountId: string,
  conv: StoredConversation | null,
): void {
  const key = conversationKey(contractId, accountId);
  if (conv) store.setItem(key, JSON.stringify(conv));
  else store.removeItem(key);
}
