// Chat actions: send a message, stream the answer (saved as it grows), stop it, regenerate the last
// one. A 402 is explained in the meter's units with what can actually be done about it.
import { costOf } from "../amount.js";
import { affordableMaxTokens, quotaShortfall } from "../errors.js";
import { saveHistory, type UiMessage } from "../history.js";
import { ProxyError } from "../proxy.js";
import type { StoredConversation } from "../secret.js";
import { current, persistConversation, state, storage, tokens } from "../state.js";
import { type BannerAction, setStatus, showError } from "../views/banner.js";
import { renderHeader, renderList } from "../views/conversations.js";
import { byTestId as $, h } from "../views/dom.js";
import { renderMessages, updateStreaming } from "../views/messages.js";
import { pollUsage, readUsage, settleBilled } from "./meter.js";

const SAVE_EVERY_MS = 400;
export const MAX_TOKENS_KEY = "aiconv:v2:max-tokens";
export const MODEL_KEY = "aiconv:v2:model";

/** The max-tokens setting: a positive integer, or undefined for "auto" (the proxy's default cap). */
export function maxTokens(): number | undefined {
  const text = $<HTMLInputElement>("max-tokens").value.trim();
  if (!text) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new Error("Max tokens must be a whole number above zero, or empty for auto.");
  return n;
}

/** The proxy's models (they also price each answer); the select offers them, the last choice is kept. */
export async function loadModels(): Promise<void> {
  state.models = await state.proxy!.models();
  const select = $<HTMLSelectElement>("model");
  select.replaceChildren(...state.models.map((m) => h("option", { value: m.id }, m.id)));
  const saved = storage.getItem(MODEL_KEY);
  if (saved && state.models.some((m) => m.id === saved)) select.value = saved;
}

/** The model to name in snippets, even before the proxy answered. */
export const modelName = () => $<HTMLSelectElement>("model").value || state.models[0]?.id || "MODEL_ID";

export function model(): string {
  const id = $<HTMLSelectElement>("model").value || state.models[0]?.id;
  if (!id) throw new Error("The AI proxy lists no models.");
  return id;
}

function billedCost(
  m: UiMessage,
  usage: UiMessage["usage"] & { cost?: string | number },
): string | undefined {
  if (usage.cost !== undefined && /^\d+$/.test(String(usage.cost))) return String(usage.cost);
  const pricing = state.models.find((x) => x.id === m.model)?.pricing;
  return pricing ? costOf(pricing, usage).toString() : undefined;
}

export async function send(text: string): Promise<void> {
  const conv = current();
  if (conv?.state !== "open" || !state.proxy || state.streaming) return;
  const contract = state.config!.contract_id;
  const prompt = $<HTMLTextAreaElement>("prompt");
  const max_tokens = maxTokens();
  try {
    if (state.models.length === 0) await loadModels();
  } catch (e) {
    return explainChatError(e, conv, text);
  }
  const options = { model: model(), max_tokens };
  prompt.value = "";
  const history = state.messages
    .filter((m) => m.content && (m.role === "user" || m.status !== "failed"))
    .map(({ role, content }) => ({ role, content }));
  const before = (await readUsage(conv)) ?? state.usage.get(conv.conversation_id);
  const user: UiMessage = { role: "user", content: text };
  const reply: UiMessage = {
    role: "assistant",
    content: "",
    status: "streaming",
    model: options.model,
    spent_before: before?.spent,
  };
  state.messages.push(user, reply);
  if (!conv.title) {
    conv.title = text.slice(0, 60);
    persistConversation(conv);
  }
  const controller = new AbortController();
  state.streaming = { id: conv.conversation_id, controller };
  renderMessages();
  renderHeader();
  renderList();
  setStatus("Thinking…");
  pollUsage(true);
  const save = () => saveHistory(contract, conv.conversation_id, state.messages).catch(() => {});
  void save();
  let lastSave = Date.now();
  try {
    const result = await state.proxy.chat(
      conv.secret,
      { ...options, messages: [...history, { role: "user", content: text }] },
      (delta) => {
        if (!reply.content) pollUsage(true); // the reservation is in place now: show it
        reply.content += delta;
        updateStreaming(reply);
        setStatus("Answering…");
        if (Date.now() - lastSave > SAVE_EVERY_MS) {
          lastSave = Date.now();
          void save();
        }
      },
      controller.signal,
    );
    reply.status = "done";
    if (result.usage) {
      reply.usage = {
        prompt_tokens: result.usage.prompt_tokens,
        completion_tokens: result.usage.completion_tokens,
      };
      reply.cost = billedCost(reply, result.usage);
    }
    setStatus("");
  } catch (e) {
    const aborted = (e as Error).name === "AbortError";
    if (!reply.content && !aborted) {
      // Nothing came back and nothing was billed: take the exchange out, give the text back.
      state.messages.splice(state.messages.indexOf(user), 2);
      if (!prompt.value) prompt.value = text;
      explainChatError(e, conv, text);
    } else {
      reply.status = aborted ? "stopped" : "failed";
      if (!aborted) showError(e);
      setStatus(aborted ? "Stopped." : "");
    }
  } finally {
    state.streaming = null;
    await save();
    renderMessages();
    renderHeader();
    pollUsage(true);
  }
  // An answer without usage (stopped, cut off) is billed what the meter rose by once it settles.
  if (reply.cost === undefined && state.messages.includes(reply)) void settleBilled(conv, reply);
}

function explainChatError(e: unknown, conv: StoredConversation, text: string) {
  const retry: BannerAction = { label: "Retry", run: () => void send(text) };
  if (e instanceof ProxyError && e.unreachable) {
    return showError(
      `The AI proxy is not reachable (${state.config?.proxy_url}). Your message was kept; retry when it is back.`,
      [retry],
    );
  }
  const short = quotaShortfall(e);
  if (!short) return showError(e, e instanceof ProxyError && e.status >= 500 ? [retry] : []);
  const limit = maxTokens();
  const outputPrice = BigInt(state.models.find((m) => m.id === model())?.pricing?.output ?? "0");
  const fits = limit && short.needed > 0n ? affordableMaxTokens(short, limit, outputPrice) : 0;
  const actions: BannerAction[] = [];
  if (fits > 0 && limit && fits < limit) {
    actions.push({
      label: `Shorter answer (max ${fits} tokens)`,
      testId: "quota-shorter",
      run: () => {
        $<HTMLInputElement>("max-tokens").value = String(fits);
        storage.setItem(MAX_TOKENS_KEY, String(fits));
        void send(text);
      },
    });
  }
  actions.push(
    { label: "Open another conversation", testId: "quota-new", run: () => $("new-conversation").click() },
    { label: "End & refund this one", testId: "quota-end", run: () => $("end-refund").click() },
  );
  const cost = short.needed > 0n ? `could cost up to ${tokens(short.needed)}` : "costs more than is left";
  const limitText = limit ? ` with max tokens ${limit}` : "";
  showError(
    `Not enough left for this answer: it ${cost}${limitText} (the question resends the conversation so far), ` +
      `and ${tokens(short.available)} is left in this conversation. Your message was kept.`,
    actions,
    "notice",
  );
  void readUsage(conv).then(renderHeader);
}

export function stop(): void {
  state.streaming?.controller.abort();
}

/** Asks the last question again, in place of its answer. */
export async function regenerate(): Promise<void> {
  const lastUser = state.messages.map((m) => m.role).lastIndexOf("user");
  const question = state.messages[lastUser];
  if (!question || state.streaming) return;
  const replaced = state.messages.splice(lastUser);
  await send(question.content);
  // Refused before anything was billed (402, proxy down): the previous answer stays.
  const conv = current();
  if (conv && state.messages.length === lastUser) {
    state.messages.push(...replaced);
    $<HTMLTextAreaElement>("prompt").value = "";
    await saveHistory(state.config!.contract_id, conv.conversation_id, state.messages);
    renderMessages();
  }
}
