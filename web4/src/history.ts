// Each conversation's messages, kept in this browser's IndexedDB (through idb-keyval) under contract
// and conversation id. A reply is saved while it streams, so a reload keeps the question and the
// partial answer; the next load marks such an answer interrupted and works out what it was billed.
import { createStore, get, set, type UseStore } from "idb-keyval";

export type MessageStatus = "streaming" | "done" | "stopped" | "interrupted" | "failed";

export interface UiMessage {
  role: "user" | "assistant";
  content: string;
  /** Assistant messages only. */
  status?: MessageStatus;
  model?: string;
  /** Token base units this answer cost (base-10 string), once known. */
  cost?: string;
  /** The conversation's `spent` just before this answer was asked: what an interrupted one was billed is measured from it. */
  spent_before?: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Why an answer is incomplete, in words. */
  note?: string;
}

let db: UseStore | null = null;
const store = () => {
  db ??= createStore("aiconv", "history");
  return db;
};
const key = (contractId: string, conversationId: string) => `${contractId}:${conversationId}`;

export async function loadHistory(contractId: string, conversationId: string): Promise<UiMessage[]> {
  const messages = await get<UiMessage[]>(key(contractId, conversationId), store());
  return Array.isArray(messages) ? messages : [];
}

export function saveHistory(
  contractId: string,
  conversationId: string,
  messages: UiMessage[],
): Promise<void> {
  // Structured clone of plain objects: what is stored cannot alias what the page keeps mutating.
  return set(key(contractId, conversationId), messages, store());
}
