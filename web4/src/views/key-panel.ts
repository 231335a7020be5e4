// The key panel: a conversation's API key, the proxy's base URL, copy buttons and snippets for the
// openai SDKs, curl and OpenAI-compatible apps. Shown once right after opening, then on demand.

import type { StoredConversation } from "../secret.js";
import { SNIPPETS, type SnippetInput } from "../snippets.js";
import { state, tokens } from "../state.js";
import { byTestId as $, copyText, h } from "./dom.js";

let input: SnippetInput | null = null;
let selected = SNIPPETS[0]!.id;

function showSnippet(id: string) {
  selected = id;
  const snippet = SNIPPETS.find((s) => s.id === id)!;
  $("snippet-code").textContent = input ? snippet.code(input) : "";
  for (const tab of $("snippet-tabs").children)
    tab.setAttribute("aria-selected", String(tab.id === `tab-${id}`));
}

export function openKeyPanel(conv: StoredConversation, model: string): void {
  input = { apiKey: conv.secret, baseUrl: `${state.config!.proxy_url}/v1`, model };
  $("key-value").textContent = input.apiKey;
  $("key-base-url").textContent = input.baseUrl;
  $("key-model").textContent = model;
  const usage = state.usage.get(conv.conversation_id);
  $("key-remaining").textContent = tokens(usage?.remaining ?? conv.amount);
  $("snippet-tabs").replaceChildren(
    ...SNIPPETS.map((s) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `tab-${s.id}`,
          class: "ghost",
          "data-testid": `snippet-tab-${s.id}`,
        },
        s.label,
      ),
    ),
  );
  showSnippet(selected);
  $<HTMLDialogElement>("key-panel").showModal();
}

export function wireKeyPanel(): void {
  const panel = $<HTMLDialogElement>("key-panel");
  panel.addEventListener("click", (e) => {
    const target = e.target as HTMLElement;
    if (target.id.startsWith("tab-")) showSnippet(target.id.slice(4));
    const copy = target.dataset["copy"];
    if (copy) void copyText($(copy).textContent ?? "", target);
  });
  $("key-close").addEventListener("click", () => panel.close());
}
