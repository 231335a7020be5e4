// Conversation actions: load this account's list (the secrets this browser holds joined with what
// the chain says), select one (its history from IndexedDB; an answer cut off by a reload is marked
// interrupted and billed), open a new one (the secret is saved before the wallet signs), and end &
// refund in two visible steps (the proxy signs, the wallet submits).
import { parseAmount } from "../amount.js";
import type { ConversationView } from "../contract.js";
import { loadHistory, saveHistory } from "../history.js";
import { extractEvents, type FinalOutcome } from "../near/rpc.js";
import { ProxyError } from "../proxy.js";
import {
  conversationIdOf,
  loadConversations,
  newSecret,
  removeConversation,
  type StoredConversation,
} from "../secret.js";
import { account, current, persistConversation, state, storage, tokens } from "../state.js";
import { render } from "../views/app.js";
import { setStatus } from "../views/banner.js";
import { entries, refundSteps, renderHeader } from "../views/conversations.js";
import { byTestId as $ } from "../views/dom.js";
import { openKeyPanel } from "../views/key-panel.js";
import { renderMessages } from "../views/messages.js";
import { refreshAccount, txSummary } from "./account.js";
import { modelName } from "./chat.js";
import { pollUsage, readUsage, settleBilled } from "./meter.js";

/** A start whose transaction never showed up on chain is dropped from the list after this long. */
const STALE_PENDING_MS = 60 * 60 * 1000;
const currentKey = (contractId: string, accountId: string) => `aiconv:v2:current:${contractId}:${accountId}`;

export async function loadAccountConversations(): Promise<void> {
  clearTimeout(state.pollTimer);
  Object.assign(state, { convs: [], currentId: null, messages: [], composing: false });
  state.chain.clear();
  state.usage.clear();
  const acct = account();
  if (!acct || !state.config || !state.token) return render();
  const contract = state.config.contract_id;
  state.convs = loadConversations(storage, contract, acct);
  // The contract's per-account list (escrow v2) also shows conversations whose key is not here.
  const listed = await state.token.conversationsOf(acct).catch(() => null);
  for (const v of listed ?? []) state.chain.set(v.conversation_id, v);
  await Promise.all(
    state.convs.map((c) => reconcile(c, listed ? (state.chain.get(c.conversation_id) ?? null) : undefined)),
  );
  await Promise.all(state.convs.filter((c) => c.state === "open").map(readUsage));
  const saved = storage.getItem(currentKey(contract, acct));
  const pick =
    saved && (state.chain.has(saved) || state.convs.some((c) => c.conversation_id === saved))
      ? saved
      : ((state.convs.find((c) => c.state === "open") ?? state.convs[0])?.conversation_id ??
        entries()[0]?.id);
  if (pick) await select(pick);
  else render();
}

/** The chain is the truth: a start that never landed, a refund or settlement done elsewhere. */
async function reconcile(
  conv: StoredConversation,
  listed: ConversationView | null | undefined,
): Promise<void> {
  // Not in the account's list: imported for another opener, or a start that has not landed yet.
  const onChain = listed ?? (await state.token!.conversation(conv.conversation_id).catch(() => undefined));
  if (onChain === undefined) return; // RPC trouble: keep what this browser knows
  if (onChain === null) {
    if (conv.state === "pending" && Date.now() - conv.created_at > STALE_PENDING_MS) {
      removeConversation(storage, state.config!.contract_id, account()!, conv.conversation_id);
      state.convs = state.convs.filter((c) => c !== conv);
    }
    return;
  }
  state.chain.set(conv.conversation_id, onChain);
  const closed = onChain.status === "refunded" || onChain.status === "reclaimed";
  if (closed && conv.state !== onChain.status) {
    conv.state = onChain.status as "refunded" | "reclaimed";
    conv.refund ??= { summary: refundedSummary(onChain), events: [] };
    persistConversation(conv);
  } else if (conv.state === "pending") {
    conv.state = "open";
    persistConversation(conv);
  }
}

function refundedSummary(v: ConversationView): string {
  const back = BigInt(v.refund_amount ?? "0");
  if (v.status === "reclaimed") return `Reclaimed ${tokens(back)} after the conversation expired.`;
  return `Refunded ${tokens(back)}; spent ${tokens(BigInt(v.deposit) - back)} of ${tokens(v.deposit)}.`;
}

export async function select(id: string): Promise<void> {
  const conv = state.convs.find((c) => c.conversation_id === id);
  if (!conv && !state.chain.has(id)) return;
  clearTimeout(state.pollTimer);
  const contract = state.config!.contract_id;
  state.currentId = id;
  state.composing = false;
  storage.setItem(currentKey(contract, account()!), id);
  if (!conv) {
    // On chain only: no key, no history here; the header says what can be done.
    state.messages = [];
    render();
    renderMessages();
    return;
  }
  const messages = await loadHistory(contract, id).catch(() => []);
  if (state.currentId !== id) return;
  state.messages = messages;
  // Saved while streaming, but no stream runs here for it now: the page was reloaded or closed.
  const cut = state.streaming?.id === id ? [] : messages.filter((m) => m.status === "streaming");
  for (const m of cut) m.status = "interrupted";
  if (cut.length) await saveHistory(contract, id, messages);
  refundSteps.setStep("refund-step-sign", conv.signed ? "done" : "idle");
  refundSteps.setStep("refund-step-submit", "idle");
  render();
  renderMessages();
  pollUsage();
  const last = messages.filter((m) => m.role === "assistant").at(-1);
  if (last && last.cost === undefined && last.status !== "streaming") void settleBilled(conv, last);
}

export function compose(): void {
  clearTimeout(state.pollTimer);
  state.composing = true;
  render();
  renderMessages();
  $<HTMLInputElement>("start-amount").focus();
}

export async function start(): Promise<void> {
  const amount = parseAmount($<HTMLInputElement>("start-amount").value, state.meta.decimals);
  if (amount <= 0n) throw new Error("Enter an amount above zero to put in escrow.");
  if (state.balance !== null && amount > state.balance) {
    throw new Error(`You have ${tokens(state.balance)}: buy more tokens, or put less in escrow.`);
  }
  const secret = newSecret();
  const id = await conversationIdOf(secret);
  const conv: StoredConversation = {
    secret,
    conversation_id: id,
    amount: amount.toString(),
    created_at: Date.now(),
    state: "pending",
  };
  // Saved before signing: if the page dies after the transaction lands, the secret is not lost.
  persistConversation(conv);
  setStatus(`Opening a conversation with ${tokens(amount)} in escrow…`);
  try {
    await state.token!.startConversation(state.wallet!, id, amount);
  } catch (e) {
    const onChain = await state.token!.conversation(id).catch(() => null);
    if (!onChain) {
      removeConversation(storage, state.config!.contract_id, account()!, id);
      state.convs = state.convs.filter((c) => c !== conv);
      throw e;
    }
  }
  conv.state = "open";
  conv.key_shown = true;
  persistConversation(conv);
  const onChain = await state.token!.conversation(id).catch(() => null);
  if (onChain) state.chain.set(id, onChain);
  const a = amount.toString();
  state.usage.set(id, { deposit: a, reserved: "0", spent: "0", remaining: a, status: "open" });
  setStatus("Conversation open. Ask away, or use its API key anywhere.");
  await select(id);
  void refreshAccount();
  openKeyPanel(conv, modelName());
}

export async function endAndRefund(): Promise<void> {
  const conv = current();
  if (!conv) return;
  conv.state = "ending";
  persistConversation(conv);
  renderHeader();
  if (!conv.signed) {
    refundSteps.setStep("refund-step-sign", "active");
    refundSteps.setStep("refund-step-submit", "idle");
    setStatus("Step 1/2: the proxy closes the conversation and signs the refund…");
    try {
      conv.signed = await state.proxy!.refund(conv.secret);
      persistConversation(conv);
    } catch (e) {
      refundSteps.setStep("refund-step-sign", "error");
      if (e instanceof ProxyError && e.unreachable) {
        throw new Error(
          `The AI proxy is not reachable (${state.config?.proxy_url}). Your tokens stay in escrow, and the conversation stays open, until it signs.`,
        );
      }
      throw e;
    }
  }
  refundSteps.setStep("refund-step-sign", "done");
  refundSteps.setStep("refund-step-submit", "active");
  setStatus("Step 2/2: your wallet submits refund_unspent…");
  let outcome: FinalOutcome;
  try {
    outcome = await state.token!.refundUnspent(state.wallet!, conv.signed);
  } catch (e) {
    // Already refunded (a retry after a lost response): the chain says so; show that.
    const onChain = await state.token!.conversation(conv.conversation_id).catch(() => null);
    if (onChain?.status !== "refunded" && onChain?.status !== "reclaimed") {
      refundSteps.setStep("refund-step-submit", "error");
      throw e;
    }
    conv.refund = { summary: refundedSummary(onChain), events: [] };
    return finishRefund(conv);
  }
  const message = JSON.parse(conv.signed.refund_message) as { refund_amount: string };
  const refunded = BigInt(message.refund_amount);
  const spent = BigInt(conv.amount) - refunded;
  conv.refund = {
    summary: `Refunded ${tokens(refunded)}; spent ${tokens(spent)} of ${tokens(conv.amount)} (${txSummary(outcome)}).`,
    events: extractEvents(outcome),
  };
  await finishRefund(conv);
}

async function finishRefund(conv: StoredConversation) {
  conv.state = "refunded";
  persistConversation(conv);
  clearTimeout(state.pollTimer);
  const onChain = await state.token!.conversation(conv.conversation_id).catch(() => null);
  if (onChain) state.chain.set(conv.conversation_id, onChain);
  refundSteps.setStep("refund-step-submit", "done");
  setStatus("Conversation ended; the unspent tokens are back in your balance.");
  render();
  renderMessages();
  await refreshAccount();
}

/** After expiry: the whole deposit back to the opener, no proxy needed. */
export async function reclaim(): Promise<void> {
  const id = state.currentId;
  const chain = id ? state.chain.get(id) : undefined;
  if (!id || !chain) return;
  setStatus(`Reclaiming ${tokens(chain.deposit)} from the expired conversation…`);
  const outcome = await state.token!.reclaim(state.wallet!, id);
  const onChain = await state.token!.conversation(id).catch(() => null);
  if (onChain) state.chain.set(id, onChain);
  const conv = state.convs.find((c) => c.conversation_id === id);
  if (conv) {
    conv.state = "reclaimed";
    conv.refund = {
      summary: `Reclaimed ${tokens(chain.deposit)} after the conversation expired (${txSummary(outcome)}).`,
      events: extractEvents(outcome),
    };
    persistConversation(conv);
  }
  setStatus(`Reclaimed ${tokens(chain.deposit)}: it is back in your balance.`);
  render();
  renderMessages();
  await refreshAccount();
}
