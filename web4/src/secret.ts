// Conversation secrets. The secret is the proxy's bearer key; only its sha256 goes on chain. This
// browser keeps every conversation's secret in localStorage, one list per contract and account,
// written before the opening transaction is signed and never put in a URL. Losing it costs time,
// not money: the escrow can be reclaimed after it expires, and `backup.ts` exports the list.
import type { SignedRefund } from "#wire";
import type { NepEvent } from "./near/rpc.js";

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

/** "pending" until start_ai_conversation landed; "ending" once the refund is being signed/submitted. */
export type ConversationState = "pending" | "open" | "ending" | "refunded" | "reclaimed";

export interface StoredConversation {
  secret: string;
  conversation_id: string;
  /** Raw token units escrowed, as a base-10 string. */
  amount: string;
  /** ms since epoch, when this browser opened it. */
  created_at: number;
  state: ConversationState;
  /** The first question, for the list. */
  title?: string;
  /** The key panel is shown once, right after opening. */
  key_shown?: boolean;
  /** The proxy's signed refund, kept so a failed submission retries without the proxy. */
  signed?: SignedRefund;
  refund?: { summary: string; events: NepEvent[] };
}

/** Minimal storage surface so tests can pass a Map-backed fake. */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const conversationsKey = (contractId: string, accountId: string) =>
  `aiconv:v2:${contractId}:${accountId}`;
/** The one-conversation record of the first app version, migrated into the list on load. */
export const legacyKey = (contractId: string, accountId: string) => `aiconv:v1:${contractId}:${accountId}`;

export function isStoredConversation(c: unknown): c is StoredConversation {
  const v = c as StoredConversation | null;
  return (
    typeof v?.secret === "string" &&
    /^[0-9a-f]{64}$/.test(v.conversation_id) &&
    /^\d+$/.test(v.amount) &&
    typeof v.state === "string"
  );
}

function parse(raw: string | null): unknown {
  try {
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/** This account's conversations, newest first. */
export function loadConversations(
  store: KeyValue,
  contractId: string,
  accountId: string,
): StoredConversation[] {
  const list = parse(store.getItem(conversationsKey(contractId, accountId)));
  const convs = Array.isArray(list) ? list.filter(isStoredConversation) : [];
  const legacy = parse(store.getItem(legacyKey(contractId, accountId)));
  if (isStoredConversation(legacy)) {
    if (!convs.some((c) => c.conversation_id === legacy.conversation_id)) convs.push(legacy);
    saveConversations(store, contractId, accountId, convs);
    store.removeItem(legacyKey(contractId, accountId));
  }
  return convs.sort((a, b) => b.created_at - a.created_at);
}

export function saveConversations(
  store: KeyValue,
  contractId: string,
  accountId: string,
  convs: StoredConversation[],
): void {
  store.setItem(conversationsKey(contractId, accountId), JSON.stringify(convs));
}

/** Adds or replaces one conversation (by id) and saves; returns the new list. */
export function upsertConversation(
  store: KeyValue,
  contractId: string,
  accountId: string,
  conv: StoredConversation,
): StoredConversation[] {
  const convs = loadConversations(store, contractId, accountId).filter(
    (c) => c.conversation_id !== conv.conversation_id,
  );
  convs.unshift(conv);
  saveConversations(store, contractId, accountId, convs);
  return convs.sort((a, b) => b.created_at - a.created_at);
}

export function removeConversation(
  store: KeyValue,
  contractId: string,
  accountId: string,
  conversationId: string,
): void {
  const convs = loadConversations(store, contractId, accountId);
  saveConversations(
    store,
    contractId,
    accountId,
    convs.filter((c) => c.conversation_id !== conversationId),
  );
}
