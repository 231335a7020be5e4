// The conversation list (the secrets this browser holds joined with what the chain says) and the
// current conversation's header: title, status, the live meter, its actions and the refund steps.
import type { ConversationView } from "../contract.js";
import type { NepEvent } from "../near/rpc.js";
import type { StoredConversation } from "../secret.js";
import { account, state, tokens } from "../state.js";
import { byTestId as $, h, show } from "./dom.js";

export interface Entry {
  id: string;
  /** null when the chain lists it but this browser has no secret for it. */
  local: StoredConversation | null;
  chain: ConversationView | null;
}

/** Every conversation to list, newest first: this browser's keys and the account's on-chain list. */
export function entries(): Entry[] {
  const list: Entry[] = state.convs.map((c) => ({
    id: c.conversation_id,
    local: c,
    chain: state.chain.get(c.conversation_id) ?? null,
  }));
  for (const [id, chain] of state.chain) {
    if (!list.some((e) => e.id === id)) list.push({ id, local: null, chain });
  }
  const timeOf = (e: Entry) =>
    e.chain ? Number(BigInt(e.chain.created_at) / 1_000_000n) : e.local!.created_at;
  return list.sort((a, b) => timeOf(b) - timeOf(a));
}

export type Status = "opening" | "open" | "ending" | "expired" | "refunded" | "reclaimed" | "no key";

export function statusOf(e: Entry): Status {
  const chain = e.chain?.status;
  if (chain === "refunded" || chain === "reclaimed") return chain;
  if (e.local?.state === "refunded" || e.local?.state === "reclaimed") return e.local.state;
  if (chain === "expired") return "expired";
  if (!e.local) return "no key";
  if (e.local.state === "pending") return "opening";
  return e.local.state === "ending" ? "ending" : "open";
}

export const titleOf = (e: Entry) => e.local?.title || `Conversation ${e.id.slice(0, 6)}`;
const dateOf = (ms: number) => new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
/** Chain times are nanoseconds since the epoch, as strings. */
export const chainDate = (ns: string) => dateOf(Number(BigInt(ns) / 1_000_000n));
const depositOf = (e: Entry) => e.local?.amount ?? e.chain?.deposit ?? "0";

function summaryOf(e: Entry, status: Status): string {
  const usage = state.usage.get(e.id);
  if (status === "open" && usage) return `${tokens(usage.remaining)} left of ${tokens(depositOf(e))}`;
  if (status === "refunded" && e.chain?.refund_amount)
    return `ended · ${tokens(e.chain.refund_amount)} refunded`;
  if (status === "reclaimed") return `reclaimed ${tokens(depositOf(e))}`;
  if (status === "expired") return `${tokens(depositOf(e))} · expired, reclaim it`;
  if (status === "no key") return `${tokens(depositOf(e))} · key not in this browser`;
  return `${tokens(depositOf(e))} · ${status}`;
}

export const currentEntry = (): Entry | null =>
  state.composing ? null : (entries().find((e) => e.id === state.currentId) ?? null);

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

/** What the header says under the meter, by status. */
function noteOf(e: Entry, status: Status): string {
  const expires = e.chain?.expires_at ? chainDate(e.chain.expires_at) : null;
  const back = e.chain?.refund_amount;
  if (e.local?.refund && (status === "refunded" || status === "reclaimed")) return ""; // the result says it
  if (status === "refunded" && back) {
    return `Ended: ${tokens(back)} refunded to you, ${tokens(BigInt(depositOf(e)) - BigInt(back))} spent.`;
  }
  if (status === "reclaimed") return `Ended: ${tokens(back ?? depositOf(e))} reclaimed after it expired.`;
  if (status === "no key") {
    return `This browser does not hold this conversation's key: import an export that has it${expires ? `, or reclaim the whole deposit after ${expires}` : ""}.`;
  }
  if (status === "expired") {
    return `Expired ${expires}: reclaim returns the whole deposit to your account${e.local ? " (End & refund still works too)" : ""}.`;
  }
  // The proxy settles unused conversations by itself (idle, or close to expiry) and pays what is left back.
  const settles = state.usage.get(e.id)?.settle_at;
  const auto = settles
    ? ` If left unused, the proxy settles it around ${chainDate(settles)} and returns what is left.`
    : "";
  if (status === "open" && expires)
    return `Expires ${expires}.${auto} Ending it sooner refunds what is left right away.`;
  return "";
}

/** The header of the current conversation (hidden when none is selected). */
export function renderHeader(): void {
  const entry = currentEntry();
  const conv = entry?.local ?? null;
  show($("conversation-info"), !!entry);
  const status = entry ? statusOf(entry) : null;
  const streaming = !!state.streaming && state.streaming.id === entry?.id;
  $<HTMLButtonElement>("send").disabled = status !== "open" || !account() || streaming;
  show($("stop"), streaming);
  $<HTMLTextAreaElement>("prompt").placeholder =
    status === "open"
      ? "Message…"
      : entry
        ? "This conversation is not open for chat"
        : "Open a conversation to chat";
  if (!entry || !status) return;
  $("conversation-title").textContent = titleOf(entry);
  $("conversation-status").textContent = status;
  $("conversation-status").dataset["status"] = status;
  $("conversation-id").textContent = `${entry.id.slice(0, 8)}…${entry.id.slice(-4)}`;
  $("conversation-id").title =
    `conversation_id ${entry.id}${conv ? ` · opened ${dateOf(conv.created_at)}` : ""}`;
  show($("show-key"), status === "open");
  show($("end-refund"), !!conv && (status === "open" || status === "ending" || status === "expired"));
  show($("reclaim"), status === "expired");
  const note = noteOf(entry, status);
  $("conversation-note").textContent = note;
  show($("conversation-note"), !!note);
  show($("refund-steps"), status === "ending" || status === "refunded");
  show($("refund-result"), (status === "refunded" || status === "reclaimed") && !!conv?.refund);
  if (status === "refunded") {
    setStep("refund-step-sign", "done");
    setStep("refund-step-submit", "done");
  }
  if (conv?.refund) renderRefundResult(conv.refund.summary, conv.refund.events);
  // The live meter only while the proxy can tell; a closed conversation's note says how it ended.
  const live = state.usage.has(entry.id) && status !== "refunded" && status !== "reclaimed";
  show($("usage-line"), live);
  show($("usage-bar"), live);
  renderMeter(entry);
}

export function renderMeter(e: Entry): void {
  const u = state.usage.get(e.id);
  const deposit = BigInt(u?.deposit ?? depositOf(e));
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
