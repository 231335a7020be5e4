// The live meter and what answers were billed. The proxy's /v1/conversations/current is the truth
// for deposit, spent and reserved: polled fast while a reply streams, slowly otherwise, and read
// once per open conversation for the list. An answer that did not finish here (stopped, or cut by a
// reload) is billed what `spent` rose by once its reservation settled.
import { loadHistory, saveHistory, type UiMessage } from "../history.js";
import type { ConversationUsage } from "../proxy.js";
import type { StoredConversation } from "../secret.js";
import { current, state } from "../state.js";
import { renderHeader, renderList } from "../views/conversations.js";
import { renderMessages } from "../views/messages.js";

export async function readUsage(conv: StoredConversation): Promise<ConversationUsage | null> {
  if (!state.proxy) return null;
  try {
    const u = await state.proxy.current(conv.secret);
    state.usage.set(conv.conversation_id, u);
    return u;
  } catch {
    return null; // the meter is informational; a chat or refund error is what gets shown
  }
}

export function pollUsage(fast = false): void {
  clearTimeout(state.pollTimer);
  const conv = current();
  if (conv?.state !== "open") return;
  void readUsage(conv).then(() => {
    if (current()?.conversation_id !== conv.conversation_id) return;
    renderHeader();
    renderList();
    state.pollTimer = window.setTimeout(() => pollUsage(!!state.streaming), fast ? 500 : 4000);
  });
}

// Browsers have no node:timers/promises and no promise-returning timer everywhere (scheduler.wait is
// Chromium's alone): the one-line idiom over the standard setTimeout.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Bills an answer that did not complete here: waits (up to ~2 min) until the proxy has settled every
 * reservation of the conversation, then records spent − spent_before as its cost and saves.
 */
export async function settleBilled(conv: StoredConversation, message: UiMessage): Promise<void> {
  if (message.cost !== undefined || message.spent_before === undefined) return;
  for (let i = 0; i < 120; i++) {
    const u = await readUsage(conv);
    if (u && u.reserved === "0") {
      message.cost = (BigInt(u.spent) - BigInt(message.spent_before)).toString();
      break;
    }
    await sleep(1000);
  }
  if (message.cost === undefined) return;
  const contract = state.config!.contract_id;
  if (current()?.conversation_id === conv.conversation_id && state.messages.includes(message)) {
    await saveHistory(contract, conv.conversation_id, state.messages);
    renderMessages();
    renderHeader();
    renderList();
    return;
  }
  // Switched away meanwhile: record it in the stored history instead.
  const stored = await loadHistory(contract, conv.conversation_id);
  const same = stored.find((m) => m.spent_before === message.spent_before && m.cost === undefined);
  if (same) {
    same.cost = message.cost;
    await saveHistory(contract, conv.conversation_id, stored);
  }
}
