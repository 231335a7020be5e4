// The chat: messages as safe markdown, code blocks with a copy button, and under each answer what it
// cost, why it is incomplete if it is, and (on the last one) Regenerate.
import type { UiMessage } from "../history.js";
import { renderMarkdown } from "../markdown.js";
import { state, tokens } from "../state.js";
import { currentEntry, statusOf } from "./conversations.js";
import { byTestId as $, h } from "./dom.js";

/** Detached and re-attached when the chat is empty. */
let emptyHint: HTMLElement | null = null;
/** What an empty chat says: the page's own welcome when nothing is selected. */
let welcome: [string, string] | null = null;
const EMPTY: Record<"open" | "closed" | "elsewhere", [string, string]> = {
  open: [
    "Ask anything",
    "Each answer shows what it cost. Or use this conversation's API key in any OpenAI-compatible app.",
  ],
  closed: ["No messages", "This conversation has no history in this browser."],
  elsewhere: ["Opened elsewhere", "Its key and history are in the browser that opened it."],
};

const NOTES: Partial<Record<NonNullable<UiMessage["status"]>, string>> = {
  stopped: "Stopped",
  interrupted: "Interrupted (the page was reloaded or closed while it streamed)",
  failed: "Incomplete: the stream broke off",
};

export function renderMessages(): void {
  emptyHint ??= $("chat-empty");
  welcome ??= [$("chat-empty-title").textContent ?? "", $("chat-empty-text").textContent ?? ""];
  const list = $("messages");
  const entry = currentEntry();
  const open = !!entry && statusOf(entry) === "open";
  const messages = entry ? state.messages : [];
  const lastAnswer = messages.map((m) => m.role).lastIndexOf("assistant");
  list.replaceChildren(...messages.map((m, i) => messageNode(m, i === lastAnswer && open)));
  if (messages.length === 0) {
    const [title, text] = !entry ? welcome : EMPTY[open ? "open" : entry.local ? "closed" : "elsewhere"];
    emptyHint.querySelector("h3")!.textContent = title;
    emptyHint.querySelector("p")!.textContent = text;
    list.append(emptyHint);
  }
  list.scrollTop = list.scrollHeight;
}

function renderBody(node: HTMLElement, m: UiMessage) {
  if (m.role === "user") {
    node.textContent = m.content;
    return;
  }
  renderMarkdown(node, m.content);
  for (const pre of node.querySelectorAll("pre")) {
    pre.append(h("button", { type: "button", class: "copy ghost", "data-action": "copy-code" }, "Copy"));
  }
}

function messageNode(m: UiMessage, last: boolean): HTMLElement {
  const body = h("div", { class: "body" });
  renderBody(body, m);
  const node = h("div", { class: `msg ${m.role}`, "data-testid": `message-${m.role}` }, body);
  if (m.status === "streaming") node.dataset["streaming"] = "true";
  if (m.role === "assistant" && m.status !== "streaming") {
    const note = m.note ?? (m.status ? NOTES[m.status] : undefined);
    if (note) node.append(h("p", { class: "note small", "data-testid": "message-note" }, note));
    node.append(footerOf(m, last));
  }
  return node;
}

function footerOf(m: UiMessage, last: boolean): HTMLElement {
  const parts: (string | Node)[] = [];
  const billed =
    m.cost !== undefined
      ? `${m.status === "done" ? "" : "billed "}${tokens(m.cost)}`
      : m.status === "done"
        ? ""
        : "measuring what it was billed…";
  if (billed)
    parts.push(h("span", { "data-testid": "message-cost", title: "what this answer cost" }, billed));
  if (m.usage) parts.push(`${m.usage.prompt_tokens} in · ${m.usage.completion_tokens} out tokens`);
  if (m.model) parts.push(m.model);
  const footer = h("div", { class: "meta small" });
  parts.forEach((p, i) => {
    footer.append(...(i ? [" · ", p] : [p]));
  });
  footer.append(h("button", { type: "button", class: "ghost", "data-action": "copy-message" }, "Copy"));
  if (last) {
    footer.append(
      h(
        "button",
        { type: "button", class: "ghost", "data-action": "regenerate", "data-testid": "regenerate" },
        "Regenerate",
      ),
    );
  }
  return footer;
}

/** Re-renders the streaming answer at most once a frame; the tree is rebuilt, never patched with HTML. */
let frame = 0;
export function updateStreaming(m: UiMessage): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const node = $("messages").querySelector<HTMLElement>('[data-streaming="true"] .body');
    if (!node) return;
    renderBody(node, m);
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  });
}
