// The chat app: wiring between the page, the wallet, the token contract and the AI proxy.
import "./style.css";
import { formatAmount, NEAR_DECIMALS, parseAmount } from "./amount.js";
import { type AppConfig, loadConfig } from "./config.js";
import { type ContractConfig, type ConversationView, type FtMetadata, TokenContract } from "./contract.js";
import { renderMarkdown } from "./markdown.js";
import { extractEvents, type FinalOutcome, NearRpc, type NepEvent } from "./near/rpc.js";
import { type ChatMessage, ProxyClient, ProxyError, type SignedRefund } from "./proxy.js";
import {
  conversationIdOf,
  loadConversation,
  newSecret,
  type StoredConversation,
  saveConversation,
} from "./secret.js";
import { byTestId as $, busy, h, show } from "./ui/dom.js";
import { createWallet, type WalletWithSignIn } from "./wallet/index.js";

interface UiMessage extends ChatMessage {
  note?: string;
}
type Stored = StoredConversation & {
  signed?: SignedRefund;
  refund?: { summary: string; events: NepEvent[] };
};

const state = {
  config: null as AppConfig | null,
  rpc: null as NearRpc | null,
  proxy: null as ProxyClient | null,
  token: null as TokenContract | null,
  wallet: null as WalletWithSignIn | null,
  meta: { symbol: "TOKEN", decimals: 0 } as Pick<FtMetadata, "symbol" | "decimals">,
  conv: null as Stored | null,
  messages: [] as UiMessage[],
  streaming: null as AbortController | null,
  pollTimer: 0,
};
/** Detached and re-attached by renderMessages when the chat is empty. */
const emptyHint = $("chat-empty");

// ---------- small views ----------

const fmt = (raw: bigint | string) => formatAmount(raw, state.meta.decimals, 6);
const fmtNear = (raw: bigint | string) => formatAmount(raw, NEAR_DECIMALS, 4);

function setStatus(text: string) {
  $("status").textContent = text;
}

let retryAction: (() => void) | null = null;
function showError(err: unknown, retry?: () => void) {
  const message = err instanceof Error ? err.message : String(err);
  console.error(err);
  $("error-message").textContent = message;
  retryAction = retry ?? null;
  show($("error-retry"), !!retry);
  show($("error-banner"), true);
  setStatus("");
}
function clearError() {
  show($("error-banner"), false);
  retryAction = null;
}

function account(): string | null {
  return state.wallet?.accountId() ?? null;
}

function persist() {
  const acct = account();
  if (!state.config || !acct) return;
  saveConversation(localStorage, state.config.contract_id, acct, state.conv);
  if (state.conv) localStorage.setItem(msgKey(state.conv.conversation_id), JSON.stringify(state.messages));
}
const msgKey = (id: string) => `aiconv:v1:messages:${id}`;

function renderAccount() {
  const acct = account();
  const dev = state.wallet?.kind === "dev";
  const select = $<HTMLSelectElement>("dev-account-select");
  if (dev && select.options.length === 0) {
    for (const id of state.wallet!.availableAccounts()) select.append(h("option", { value: id }, id));
  }
  show(select, !acct && dev && select.options.length > 0);
  show($("sign-in"), !acct && !!state.wallet);
  show($("account-id"), !!acct);
  $("account-id").textContent = acct ?? "";
  show($("sign-out"), !!acct);
  show($("signed-out-hint"), !acct);
  for (const id of ["buy", "start", "send", "register"]) $<HTMLButtonElement>(id).disabled = !acct;
}

function renderMessages() {
  const list = $("messages");
  list.replaceChildren(...state.messages.map(messageNode));
  if (state.messages.length === 0) list.append(emptyHint);
  list.scrollTop = list.scrollHeight;
}

function messageNode(m: UiMessage): HTMLElement {
  const node = h("div", { class: `msg ${m.role}`, "data-testid": `message-${m.role}` });
  if (m.role === "assistant") renderMarkdown(node, m.content);
  else node.textContent = m.content;
  if (m.note) node.append(h("span", { class: "note" }, m.note));
  return node;
}

function renderConversation() {
  const conv = state.conv;
  const open = conv?.state === "open" || conv?.state === "ending";
  show($("start-form"), !conv || conv.state === "pending");
  show($("conversation-info"), !!conv && conv.state !== "pending");
  show($("refund-steps"), conv?.state === "ending" || conv?.state === "refunded");
  show($("refund-result"), conv?.state === "refunded");
  $("symbol").textContent = state.meta.symbol;
  $<HTMLButtonElement>("send").disabled = !open || conv?.state !== "open" || !account();
  $<HTMLTextAreaElement>("prompt").placeholder =
    conv?.state === "open" ? "Message…" : "Start a conversation to chat";
  if (!conv) return;
  $("conversation-id").textContent = `${conv.conversation_id.slice(0, 10)}…${conv.conversation_id.slice(-6)}`;
  $("conversation-id").title = conv.conversation_id;
  $("conversation-status").textContent = conv.state;
  show($("end-refund"), conv.state === "open" || conv.state === "ending");
  if (conv.state === "refunded" && conv.refund) renderRefundResult(conv.refund.summary, conv.refund.events);
}

function renderUsage(u: { deposit: string; spent: string; remaining: string }) {
  $("usage-deposit").textContent = fmt(u.deposit);
  $("usage-spent").textContent = fmt(u.spent);
  $("usage-remaining").textContent = fmt(u.remaining);
  const deposit = BigInt(u.deposit);
  // Integer percent, computed in BigInt to stay exact for 24-decimal amounts.
  const pct = deposit > 0n ? Number((BigInt(u.spent) * 100n) / deposit) : 0;
  $("usage-meter").style.width = `${Math.min(100, pct)}%`;
}

function setStep(id: "refund-step-sign" | "refund-step-submit", s: "idle" | "active" | "done" | "error") {
  $(id).dataset["state"] = s;
}

function renderRefundResult(summary: string, events: NepEvent[]) {
  $("refund-summary").textContent = summary;
  const list = $("events");
  list.replaceChildren(...events.map(eventNode));
  if (events.length === 0) list.append(h("li", {}, "No NEP-297 events in the receipts."));
  setStep("refund-step-sign", "done");
  setStep("refund-step-submit", "done");
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

function renderPrice(c: ContractConfig | null) {
  const price = c?.token_price ? BigInt(c.token_price) : 0n;
  const el = $("price");
  if (!c) el.textContent = "";
  else if (price === 0n) el.textContent = "The token sale is closed on this deployment.";
  else {
    // token_price is yocto per smallest unit, so one whole token costs price × 10^decimals yocto.
    const perToken = price * 10n ** BigInt(state.meta.decimals);
    el.textContent = `1 ${state.meta.symbol} = ${formatAmount(perToken, NEAR_DECIMALS)} NEAR`;
  }
  $<HTMLButtonElement>("buy").dataset["price"] = price.toString();
}

// ---------- data refresh ----------

async function refreshAccount() {
  const acct = account();
  renderAccount();
  renderConversation();
  if (!acct || !state.token || !state.rpc) return;
  const [balance, near, storage] = await Promise.all([
    state.token.balanceOf(acct),
    state.rpc.nearBalance(acct).catch(() => null),
    state.token.storageBalanceOf(acct),
  ]);
  $("token-balance").textContent = `${fmt(balance)} ${state.meta.symbol}`;
  $("near-balance").textContent = near === null ? "–" : fmtNear(near);
  const needsStorage = storage === null;
  show($("storage-needed"), needsStorage);
  if (needsStorage) {
    const bounds = await state.token.storageBounds();
    $("storage-cost").textContent = formatAmount(bounds.min, NEAR_DECIMALS);
  }
  $<HTMLButtonElement>("buy").disabled = needsStorage;
  $<HTMLButtonElement>("start").disabled = needsStorage || balance === 0n;
}

async function loadStoredConversation() {
  const acct = account();
  state.conv = null;
  state.messages = [];
  if (!acct || !state.config || !state.token) return;
  const conv = loadConversation(localStorage, state.config.contract_id, acct) as Stored | null;
  if (conv) {
    state.conv = conv;
    try {
      state.messages = JSON.parse(localStorage.getItem(msgKey(conv.conversation_id)) ?? "[]");
    } catch {
      state.messages = [];
    }
    // The chain is the truth: a start that never landed, or a refund submitted from elsewhere.
    const onChain = await state.token.conversation(conv.conversation_id).catch(() => undefined);
    if (onChain === null && conv.state === "pending") state.conv = null;
    else if (onChain && isClosed(onChain) && conv.state !== "refunded") {
      conv.state = "refunded";
      conv.refund ??= { summary: refundedSummary(onChain), events: [] };
    } else if (onChain && conv.state === "pending") conv.state = "open";
    persist();
  }
  renderMessages();
  renderConversation();
  pollUsage();
}

/** Closed on chain: refunded with the proxy's signature, or reclaimed whole after its expiry. */
const isClosed = (v: ConversationView) => v.status === "refunded" || v.status === "reclaimed";

function refundedSummary(v: ConversationView): string {
  const refunded = BigInt(v.refund_amount ?? "0");
  if (v.status === "reclaimed")
    return `Reclaimed ${fmt(refunded)} ${state.meta.symbol} after the conversation expired.`;
  return `Refunded ${fmt(refunded)} ${state.meta.symbol}; spent ${fmt(BigInt(v.deposit) - refunded)} of ${fmt(v.deposit)}.`;
}

/** Polls the proxy's meter: fast while a reply streams, slow otherwise, not at all when closed. */
function pollUsage(fast = false) {
  clearTimeout(state.pollTimer);
  const conv = state.conv;
  if (!conv || !state.proxy || (conv.state !== "open" && conv.state !== "ending")) return;
  state.proxy
    .current(conv.secret)
    .then((u) => {
      renderUsage(u);
      if (
        state.conv === conv &&
        u.status &&
        u.status !== conv.state &&
        conv.state === "open" &&
        u.status !== "open"
      ) {
        $("conversation-status").textContent = u.status;
      }
    })
    .catch(() => {
      // The meter is informational; a chat or refund error is what gets shown.
    })
    .finally(() => {
      if (state.conv === conv)
        state.pollTimer = window.setTimeout(() => pollUsage(!!state.streaming), fast ? 600 : 4000);
    });
}

// ---------- actions ----------

async function signIn() {
  const select = $<HTMLSelectElement>("dev-account-select");
  await state.wallet!.signIn(state.wallet!.kind === "dev" ? select.value : undefined);
  await afterAccountChange();
}

async function afterAccountChange() {
  clearError();
  await refreshAccount();
  await loadStoredConversation();
}

function txSummary(outcome: FinalOutcome) {
  return `tx ${outcome.transaction.hash.slice(0, 10)}…`;
}

async function register() {
  setStatus("Registering account (storage deposit)…");
  const outcome = await state.token!.register(state.wallet!, account()!);
  setStatus(`Registered (${txSummary(outcome)}).`);
  await refreshAccount();
}

async function buy() {
  const yocto = parseAmount($<HTMLInputElement>("buy-near-amount").value, NEAR_DECIMALS);
  if (yocto <= 0n) throw new Error("enter a NEAR amount above zero");
  setStatus(`Buying tokens for ${fmtNear(yocto)} NEAR…`);
  const outcome = await state.token!.buyTokens(state.wallet!, yocto);
  const minted = extractEvents(outcome)
    .filter((e) => e.standard === "nep141" && e.event === "ft_mint")
    .flatMap((e) => (Array.isArray(e.data) ? e.data : []) as { amount?: string }[])
    .reduce((sum, d) => sum + BigInt(d.amount ?? "0"), 0n);
  setStatus(`Bought ${fmt(minted)} ${state.meta.symbol} (${txSummary(outcome)}).`);
  await refreshAccount();
}

async function start() {
  const amount = parseAmount($<HTMLInputElement>("start-amount").value, state.meta.decimals);
  if (amount <= 0n) throw new Error("enter an amount above zero");
  const acct = account()!;
  const secret = newSecret();
  const id = await conversationIdOf(secret);
  // Saved before signing: if the page dies after the transaction lands, the secret is not lost.
  state.conv = {
    secret,
    conversation_id: id,
    amount: amount.toString(),
    created_at: Date.now(),
    state: "pending",
  };
  state.messages = [];
  persist();
  setStatus(`Opening a conversation with ${fmt(amount)} ${state.meta.symbol} in escrow…`);
  try {
    await state.token!.startConversation(state.wallet!, id, amount);
  } catch (e) {
    const onChain = await state.token!.conversation(id).catch(() => null);
    if (!onChain) {
      state.conv = null;
      persist();
      saveConversation(localStorage, state.config!.contract_id, acct, null);
      renderConversation();
      throw e;
    }
  }
  state.conv.state = "open";
  persist();
  setStatus("Conversation open. Ask away.");
  renderUsage({ deposit: amount.toString(), spent: "0", remaining: amount.toString() });
  renderMessages();
  await refreshAccount();
  pollUsage();
  $("prompt").focus();
}

/** The proxy requires a model id; the first one it lists is the default, the select overrides it. */
async function ensureModel(): Promise<string> {
  const select = $<HTMLSelectElement>("model");
  if (select.options.length === 0) {
    const models = await state.proxy!.models();
    if (models.length === 0) throw new Error("the AI proxy lists no models");
    select.replaceChildren(...models.map((m) => h("option", { value: m }, m)));
    show(select, models.length > 1);
  }
  return select.value;
}

async function send(text: string) {
  const conv = state.conv;
  if (conv?.state !== "open" || !state.proxy) return;
  const prompt = $<HTMLTextAreaElement>("prompt");
  prompt.value = "";
  const history = state.messages.filter((m) => !m.note).map(({ role, content }) => ({ role, content }));
  const user: UiMessage = { role: "user", content: text };
  const reply: UiMessage = { role: "assistant", content: "" };
  state.messages.push(user, reply);
  renderMessages();
  const replyNode = $("messages").lastElementChild as HTMLElement | null;
  replyNode?.setAttribute("data-streaming", "true");
  const controller = new AbortController();
  state.streaming = controller;
  show($("stop"), true);
  $<HTMLButtonElement>("send").disabled = true;
  setStatus("Thinking…");
  pollUsage(true);
  let frame = 0;
  try {
    const model = await ensureModel();
    await state.proxy.chat(
      conv.secret,
      { model, messages: [...history, { role: "user", content: text }] },
      (delta) => {
        reply.content += delta;
        // Re-render markdown at most once a frame; the tree is rebuilt, never patched with HTML.
        if (!frame && replyNode) {
          frame = requestAnimationFrame(() => {
            frame = 0;
            renderMarkdown(replyNode, reply.content);
            $("messages").scrollTop = $("messages").scrollHeight;
          });
        }
        setStatus("Streaming…");
      },
      controller.signal,
    );
    setStatus("");
  } catch (e) {
    const aborted = (e as Error).name === "AbortError";
    if (!reply.content) {
      // Nothing came back: take the exchange out and give the text back so it can be resent.
      state.messages.splice(state.messages.indexOf(user), 2);
      if (!prompt.value) prompt.value = text;
      if (!aborted)
        showError(describeProxyError(e), () => {
          clearError();
          void send(text);
        });
    } else {
      reply.note = aborted ? "stopped" : "interrupted — the reply is incomplete";
      if (!aborted) showError(describeProxyError(e));
    }
    if (aborted) setStatus("Stopped.");
  } finally {
    cancelAnimationFrame(frame);
    state.streaming = null;
    show($("stop"), false);
    persist();
    renderMessages();
    renderConversation();
    pollUsage(true);
    // One more reading once the proxy has settled the final usage.
    setTimeout(() => pollUsage(), 800);
  }
}

/** `kept` says what survived the failure, so the banner fits the action (chat or refund). */
function describeProxyError(e: unknown, kept = "Your message was kept"): Error {
  if (e instanceof ProxyError && e.unreachable) {
    return new Error(
      `The AI proxy is not reachable (${state.config?.proxy_url}). ${kept}; retry when it is back.`,
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}

async function endAndRefund() {
  const conv = state.conv!;
  conv.state = "ending";
  persist();
  renderConversation();
  if (!conv.signed) {
    setStep("refund-step-sign", "active");
    setStep("refund-step-submit", "idle");
    setStatus("Step 1/2: asking the proxy to close the conversation and sign the refund…");
    try {
      conv.signed = await state.proxy!.refund(conv.secret);
      persist();
    } catch (e) {
      setStep("refund-step-sign", "error");
      throw describeProxyError(
        e,
        "Your tokens stay in escrow, and the conversation stays open, until it signs",
      );
    }
  }
  setStep("refund-step-sign", "done");
  setStep("refund-step-submit", "active");
  setStatus("Step 2/2: submitting refund_unspent with your wallet…");
  let outcome: FinalOutcome;
  try {
    outcome = await state.token!.refundUnspent(state.wallet!, conv.signed);
  } catch (e) {
    // Already refunded (e.g. a retry after a lost response): the chain says so; show that.
    const onChain = await state.token!.conversation(conv.conversation_id).catch(() => null);
    if (!onChain || !isClosed(onChain)) {
      setStep("refund-step-submit", "error");
      throw e;
    }
    conv.refund = { summary: refundedSummary(onChain), events: [] };
    return finishRefund(conv);
  }
  const message = JSON.parse(conv.signed.refund_message) as { refund_amount: string };
  const refunded = BigInt(message.refund_amount);
  const spent = BigInt(conv.amount) - refunded;
  conv.refund = {
    summary: `Refunded ${fmt(refunded)} ${state.meta.symbol}; spent ${fmt(spent)} of ${fmt(conv.amount)} (${txSummary(outcome)}).`,
    events: extractEvents(outcome),
  };
  finishRefund(conv);
}

function finishRefund(conv: Stored) {
  conv.state = "refunded";
  persist();
  clearTimeout(state.pollTimer);
  setStatus("Conversation ended; unspent tokens are back in your balance.");
  renderConversation();
  void refreshAccount();
}

function newConversation() {
  state.conv = null;
  state.messages = [];
  persist();
  setStep("refund-step-sign", "idle");
  setStep("refund-step-submit", "idle");
  renderMessages();
  renderConversation();
  void refreshAccount();
}

// ---------- wiring ----------

/** Runs a user action with its button busy; failures land in the banner with a retry. */
function action(button: HTMLButtonElement, work: () => Promise<void>) {
  const run = () => {
    clearError();
    busy(button, work).catch((e) => showError(e, run));
  };
  return run;
}

function wire() {
  $("error-dismiss").addEventListener("click", clearError);
  $("error-retry").addEventListener("click", () => retryAction?.());
  $("sign-in").addEventListener("click", action($("sign-in"), signIn));
  $("sign-out").addEventListener("click", async () => {
    clearTimeout(state.pollTimer);
    await state.wallet?.signOut();
    state.conv = null;
    state.messages = [];
    renderMessages();
    await refreshAccount();
  });
  $("register").addEventListener("click", action($("register"), register));
  const buyRun = action($("buy"), buy);
  $("buy-form").addEventListener("submit", (e) => {
    e.preventDefault();
    buyRun();
  });
  const startRun = action($("start"), start);
  $("start-form").addEventListener("submit", (e) => {
    e.preventDefault();
    startRun();
  });
  $("end-refund").addEventListener("click", action($("end-refund"), endAndRefund));
  $("new-conversation").addEventListener("click", newConversation);
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $<HTMLTextAreaElement>("prompt").value.trim();
    if (text && !state.streaming) {
      clearError();
      void send(text);
    }
  });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $<HTMLFormElement>("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => state.streaming?.abort());
}

async function boot() {
  clearError();
  setStatus("Loading…");
  try {
    const config = await loadConfig();
    state.config = config;
    $("network").textContent = `${config.network} · ${config.contract_id}`;
    state.rpc = new NearRpc(config.rpc_url);
    state.proxy = new ProxyClient(config.proxy_url);
    state.token = new TokenContract(config.contract_id, state.rpc);
    const meta = await state.token.metadata();
    state.meta = { symbol: meta.symbol, decimals: meta.decimals };
    state.wallet = await createWallet(config, state.rpc);
    void state.token.config().then(renderPrice);
    void ensureModel().catch(() => {}); // best effort now; send() retries and reports
    setStatus("");
    await afterAccountChange();
  } catch (e) {
    showError(e, () => void boot());
  }
}

wire();
renderAccount();
void boot();
