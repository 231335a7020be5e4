// Re-renders the cheap parts of the page from state (the chat has its own, costlier renderMessages).
import { renderAccount } from "./account.js";
import { renderHeader, renderList } from "./conversations.js";

export function render(): void {
  renderAccount();
  renderList();
  renderHeader();
}
