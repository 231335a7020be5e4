// The passphrase dialog for exporting and importing keys, with the warning that goes with each.
import { byTestId as $ } from "./dom.js";

export interface PassphraseRequest {
  title: string;
  text: string;
  warning: string;
  confirm: string;
}

/** Resolves with the passphrase, or null if the person cancels. */
export function askPassphrase(req: PassphraseRequest): Promise<string | null> {
  const dialog = $<HTMLDialogElement>("backup-dialog");
  const input = $<HTMLInputElement>("backup-passphrase");
  $("backup-title").textContent = req.title;
  $("backup-text").textContent = req.text;
  $("backup-warning").textContent = req.warning;
  $("backup-confirm").textContent = req.confirm;
  input.value = "";
  return new Promise((resolve) => {
    const form = $<HTMLFormElement>("backup-form");
    const done = (value: string | null) => {
      form.removeEventListener("submit", onSubmit);
      $("backup-cancel").removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      dialog.close();
      resolve(value);
    };
    const onSubmit = (e: Event) => {
      e.preventDefault();
      done(input.value);
    };
    const onCancel = () => done(null);
    form.addEventListener("submit", onSubmit);
    $("backup-cancel").addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    input.focus();
  });
}
