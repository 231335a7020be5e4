// The conversation list (the secrets this browser holds joined with what the chain says) and the
// current conversation's header: title, status, the live meter, its actions and the refund steps.
import type { ConversationView } from "../contract.js";
import type { NepEvent } from "../near/rpc.js";
import type { StoredConversation } from "../secret.js";
import { account, current, state, tokens } from "../state.js";
import { byTestId as $, h, show } from "./dom.js";

export interface Entry {
  id: string;
  /** null when the chain lists it but this browser has no secret for it. */
  local: StoredConversation | null;
  chain: ConversationView | null;
}

/** Every conversation to list: local secrets first, then on-chain ones this browser cannot use. */
export function entries(): Entry[] {
  const list: Entry[] = state.convs.map((c) => ({
    id: c.conversation_id,
    local: c,
    chain: state.chain.get(c.conversation_id) ?? null,
  }));
  for (const [id, chain] of state.chain) {
    if (!list.some((e) => e.id === id)) list.push({ id, local: null, chain });
  }
  return list;
}

export type Status = "opening" | "open" | "ending" | "refunded" | "reclaimed" | "no key";

export function statusOf(e: Entry): Status {
  const chainStatus = e.chain?.status as string | undefined;
  if (chainStatus === "refunded") return "refunded";
  if (chainStatus === "reclaimed") return "reclaimed";
  if (!e.local) return "no key";
  if (e.local.state === "pending") return "opening";
  return e.local.state === "ending" || e.local.state === "refunded" || e.local.state === "reclaimed"
    ? e.local.state
    : "open";
}

export const titleOf = (e: Entry) => e.local?.title || `Conversation ${e.id.slice(0, 6)}`;
const dateOf = (ms: number) => new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

function summaryOf(e: Entry, status: Status): string {
  const deposit = e.local?.amount ?? e.chain?.amount ?? "0";
  const usage = state.usage.get(e.id);
  if (status === "open" && usage) return `${tokens(usage.remaining)} left of ${tokens(deposit)}`;
  if (status === "refunded" && e.chain?.refund_amount)
    return `ended · ${tokens(e.chain.refund_amount)} refunded`;
  if (status === "no key") return `${tokens(deposit)} · key not in this browser`;
  return `${tokens(deposit)} · ${status}`;
}

export function renderList(): void {
  const list = $("conversation-list");
  const items = account() ? entries() : [];
  list.replaceChildren(
    ...items.map((e) => {
      const status = statusOf(e);
      const li = h(
        "li",
        { "data-id": e.id, "data-testid": "conversation-item", "data-status": status },
        h("strong", {}, titleOf(e)),
        h("span", { class: "small muted" }, summaryOf(e, status)),
      );
      if (e.id === state.currentId && !state.composing) li.setAttribute("aria-current", "true");
      li.tabIndex = 0;
      return li;
    }),
  );
  show($("start-form"), !!account() && (state.composing || items.length === 0));
}

function setStep(id: "refund-step-sign" | "refund-step-submit", s: "idle" | "active" | "done" | "error") {
  $(id).dataset["state"] = s;
}
export const refundSteps = { setStep };

/** The header of the current conversation (hidden when none is selected). */
export function renderHeader(): void {
  const conv = state.composing ? null : current();
  show($("conversation-info"), !!conv);
  const streaming = !!state.streaming && state.streaming.id === conv?.conversation_id;
  $<HTMLButtonElement>("send").disabled = conv?.state !== "open" || !account() || streaming;
  show($("stop"), streaming);
  $<HTMLTextAreaElement>("prompt").placeholder =
    conv?.state === "open"
      ? "Message…"
      : conv
        ? "This conversation has ended"
        : "Open a conversation to chat";
  if (!conv) return;
  const entry: Entry = {
    id: conv.conversation_id,
    local: conv,
    chain: state.chain.get(conv.conversation_id) ?? null,
  };
  const status = statusOf(entry);
  $("conversation-title").textContent = titleOf(entry);
  $("conversation-status").textContent = status;
  $("conversation-status").dataset["status"] = status;
  $("conversation-id").textContent = `${conv.conversation_id.slice(0, 8)}…${conv.conversation_id.slice(-4)}`;
  $("conversation-id").title = `conversation_id ${conv.conversation_id} · opened ${dateOf(conv.created_at)}`;
  show($("show-key"), status === "open");
  show($("end-refund"), status === "open" || status === "ending");
  show($("refund-steps"), status === "ending" || status === "refunded");
  show($("refund-result"), status === "refunded" && !!conv.refund);
  if (status === "refunded") {
    setStep("refund-step-sign", "done");
    setStep("refund-step-submit", "done");
  }
  if (conv.refund) renderRefundResult(conv.refund.summary, conv.refund.events);
  renderMeter(conv);
}

export function renderMeter(conv: StoredConversation): void {
  const u = state.usage.get(conv.conversation_id);
  const deposit = BigInt(u?.deposit ?? conv.amount);
  const spent = BigInt(u?.spent ?? "0");
  const reserved = BigInt(u?.reserved ?? "0");
  $("usage-deposit").textContent = tokens(deposit);
  $("usage-spent").textContent = u ? tokens(spent) : "–";
  $("usage-remaining").textContent = u ? tokens(u.remaining) : "–";
  $("usage-reserved").textContent = tokens(reserved);
  show($("usage-reserved-line"), reserved > 0n);
  // Percentages in BigInt, exact for any number of decimals.
  const pct = (n: bigint) => (deposit > 0n ? Number((n * 1000n) / deposit) / 10 : 0);
  $("usage-meter").style.width = `${Math.min(100, pct(spent))}%`;
  $("usage-reserved-bar").style.width = `${Math.min(100 - pct(spent), pct(reserved))}%`;
}

export function renderRefundResult(summary: string, events: NepEvent[]): void {
  $("refund-summary").textContent = summary;
  const list = $("events");
  list.replaceChildren(...events.map(eventNode));
  if (events.length === 0) list.append(h("li", {}, "No NEP-297 events in the receipts."));
}

function eventNode(ev: NepEvent): HTMLElement {
  return h(
    "li",
    { "data-testid": "event" },
    h("strong", {}, `${ev.standard} · ${ev.event}`),
    ` v${ev.version}${ev.executor_id ? ` @ ${ev.executor_id}` : ""}`,
    h("pre", {}, JSON.stringify(ev.data ?? null, null, 1)),
  );
}
