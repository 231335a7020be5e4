// The chat app's entry: installs the script policy, loads the deployment's config, and wires the
// page's controls to the actions. State lives in state.ts, rendering in views/, I/O in actions/.

import { buy, refreshAccount, register, signIn, signOut } from "./actions/account.js";
import { exportKeys, importKeysFrom, pickImportFile } from "./actions/backup.js";
import {
  loadModels,
  MAX_TOKENS_KEY,
  MODEL_KEY,
  maxTokens,
  modelName,
  regenerate,
  send,
  stop,
} from "./actions/chat.js";
import {
  compose,
  endAndRefund,
  loadAccountConversations,
  reclaim,
  select,
  start,
} from "./actions/conversations.js";
import { loadConfig } from "./config.js";
import { TokenContract } from "./contract.js";
import { installCsp } from "./csp.js";
import { NearRpc } from "./near/rpc.js";
import { ProxyClient } from "./proxy.js";
import { state, storage } from "./state.js";
import css from "./style.css?inline";
import { renderPrice } from "./views/account.js";
import { render } from "./views/app.js";
import { clearError, setStatus, showError } from "./views/banner.js";
import { byTestId as $, busy, copyText, h } from "./views/dom.js";
import { openKeyPanel, wireKeyPanel } from "./views/key-panel.js";
import { renderMessages } from "./views/messages.js";
import { createWallet } from "./wallet/index.js";

const nonce = installCsp();
document.head.append(h("style", {}, css));

/** Runs a user action with its button busy; failures land in the banner with a retry. */
function action(button: HTMLButtonElement, work: () => Promise<void>) {
  const run = () => {
    clearError();
    busy(button, work).catch((e) => showError(e, [{ label: "Retry", run }]));
  };
  return run;
}

/** Like action(), for things a retry would not help (a wrong passphrase, a wrong file). */
const attempt = (work: () => Promise<void>) => () => {
  clearError();
  work().catch((e) => showError(e));
};

async function afterAccountChange() {
  clearError();
  await refreshAccount();
  await loadAccountConversations();
}

function onSubmit(testId: string, run: () => void) {
  $(testId).addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
}

function wire() {
  $("error-dismiss").addEventListener("click", clearError);
  $("sign-in").addEventListener(
    "click",
    action($("sign-in"), () => signIn().then(afterAccountChange)),
  );
  $("sign-out").addEventListener(
    "click",
    attempt(() => signOut().then(afterAccountChange)),
  );
  $("register").addEventListener("click", action($("register"), register));
  onSubmit("buy-form", action($("buy"), buy));
  onSubmit("start-form", action($("start"), start));
  $("new-conversation").addEventListener("click", compose);
  $("end-refund").addEventListener("click", action($("end-refund"), endAndRefund));
  $("reclaim").addEventListener("click", action($("reclaim"), reclaim));
  $("show-key").addEventListener("click", () => {
    const conv = state.convs.find((c) => c.conversation_id === state.currentId);
    if (conv) openKeyPanel(conv, modelName());
  });
  $("export-keys").addEventListener("click", attempt(exportKeys));
  $("import-keys").addEventListener("click", pickImportFile);
  $<HTMLInputElement>("import-file").addEventListener("change", (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) attempt(() => importKeysFrom(file))();
  });
  const list = $("conversation-list");
  const pick = (e: Event) => {
    const id = (e.target as HTMLElement).closest("li")?.dataset["id"];
    if (id && !state.streaming) void select(id).catch((err) => showError(err));
  };
  list.addEventListener("click", pick);
  list.addEventListener("keydown", (e) => {
    if (e.key === "Enter") pick(e);
  });
  $("messages").addEventListener("click", (e) => {
    const target = e.target as HTMLElement;
    const act = target.dataset["action"];
    if (act === "copy-code")
      void copyText(target.parentElement?.querySelector("code")?.textContent ?? "", target);
    if (act === "copy-message") {
      const body = target.closest(".msg")?.querySelector(".body");
      void copyText(body?.textContent ?? "", target);
    }
    if (act === "regenerate") {
      clearError();
      void regenerate().catch((err) => showError(err));
    }
  });
  onSubmit("composer", () => {
    const text = $<HTMLTextAreaElement>("prompt").value.trim();
    if (!text || state.streaming) return;
    clearError();
    send(text).catch((e) => showError(e));
  });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $<HTMLFormElement>("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", stop);
  const max = $<HTMLInputElement>("max-tokens");
  max.value = storage.getItem(MAX_TOKENS_KEY) ?? "";
  max.addEventListener("change", () => {
    try {
      maxTokens();
      storage.setItem(MAX_TOKENS_KEY, max.value.trim());
    } catch (e) {
      showError(e);
    }
  });
  $<HTMLSelectElement>("model").addEventListener("change", (e) =>
    storage.setItem(MODEL_KEY, (e.target as HTMLSelectElement).value),
  );
  wireKeyPanel();
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
    state.wallet = await createWallet(config, state.rpc, nonce);
    state.wallet.onAccountChange?.(() => void afterAccountChange().catch((e) => showError(e)));
    void state.token.config().then(renderPrice);
    // Best effort now: the model list also prices each answer; sending without it says why.
    void loadModels().catch(() => {});
    setStatus("");
    await afterAccountChange();
  } catch (e) {
    showError(e, [{ label: "Retry", run: () => void boot() }]);
  }
}

wire();
render();
renderMessages();
void boot();
