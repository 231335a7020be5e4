// The error banner (one at a time, with the actions that make sense for it) and the status line.
import { readable } from "../errors.js";
import { byTestId as $, h, show } from "./dom.js";

export interface BannerAction {
  label: string;
  run: () => void;
  testId?: string;
}

export function setStatus(text: string): void {
  $("status").textContent = text;
}

/**
 * Shows `err` in words (never a stack trace), with buttons for what the person can do next. A
 * "notice" is not a failure (nothing is broken, e.g. not enough left for an answer): amber, not red.
 */
export function showError(
  err: unknown,
  actions: BannerAction[] = [],
  kind: "error" | "notice" = "error",
): void {
  console.error(err);
  $("error-message").textContent = typeof err === "string" ? err : readable(err);
  $("error-actions").replaceChildren(
    ...actions.map((a) => {
      const b = h("button", { type: "button", "data-testid": a.testId ?? "error-retry" }, a.label);
      b.addEventListener("click", () => {
        clearError();
        a.run();
      });
      return b;
    }),
  );
  show($("error-actions"), actions.length > 0);
  $("error-banner").dataset["kind"] = kind;
  show($("error-banner"), true);
  setStatus("");
}

export function clearError(): void {
  show($("error-banner"), false);
}
