// Export and import of this account's conversation keys and histories (see backup.ts for the file).
import { BackupError, decryptBackup, encryptBackup, parseBackupFile } from "../backup.js";
import { loadHistory, saveHistory } from "../history.js";
import { loadConversations, saveConversations } from "../secret.js";
import { account, state, storage } from "../state.js";
import { askPassphrase } from "../views/backup-dialog.js";
import { setStatus } from "../views/banner.js";
import { byTestId as $, h } from "../views/dom.js";
import { loadAccountConversations } from "./conversations.js";

const WARNING =
  "Anyone with this file and its passphrase can spend what is left in these conversations " +
  "(refunds still go only to your account). Without the file, a lost key costs you time: " +
  "its escrow can only be reclaimed after the conversation expires.";

export async function exportKeys(): Promise<void> {
  const acct = account()!;
  const config = state.config!;
  const convs = loadConversations(storage, config.contract_id, acct);
  if (convs.length === 0) throw new Error("This browser holds no conversation keys for this account yet.");
  const passphrase = await askPassphrase({
    title: "Export conversation keys",
    text: `${convs.length} conversation key(s) of ${acct} on ${config.contract_id}, with their chat histories, encrypted with a passphrase you choose.`,
    warning: WARNING,
    confirm: "Export",
  });
  if (passphrase === null) return;
  if (passphrase.length < 8) throw new Error("Choose a passphrase of at least 8 characters.");
  setStatus("Encrypting the export…");
  const conversations = await Promise.all(
    convs.map(async (c) => ({ ...c, messages: await loadHistory(config.contract_id, c.conversation_id) })),
  );
  const file = await encryptBackup(
    { network: config.network, contract_id: config.contract_id, account_id: acct },
    { exported_at: new Date().toISOString(), conversations },
    passphrase,
  );
  const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 1)], { type: "application/json" }));
  const link = h("a", {
    href: url,
    download: `conversation-keys-${acct}-${new Date().toISOString().slice(0, 10)}.json`,
  });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  setStatus(`Exported ${convs.length} conversation key(s). Keep the file and its passphrase apart.`);
}

/** Opens the file picker; the chosen file is imported by importKeysFrom. */
export function pickImportFile(): void {
  const input = $<HTMLInputElement>("import-file");
  input.value = "";
  input.click();
}

export async function importKeysFrom(file: File): Promise<void> {
  const config = state.config!;
  const backup = parseBackupFile(await file.text());
  if (backup.contract_id !== config.contract_id || backup.network !== config.network) {
    throw new BackupError(
      `This export is for ${backup.contract_id} on ${backup.network}; this app is ${config.contract_id} on ${config.network}.`,
    );
  }
  const passphrase = await askPassphrase({
    title: "Import conversation keys",
    text: `Keys of ${backup.account_id}, from ${file.name}.`,
    warning: "Importing adds these conversations to this browser; anything already here is kept.",
    confirm: "Import",
  });
  if (passphrase === null) return;
  setStatus("Decrypting…");
  const payload = await decryptBackup(backup, passphrase);
  const acct = backup.account_id;
  const have = loadConversations(storage, config.contract_id, acct);
  let added = 0;
  for (const { messages, ...conv } of payload.conversations) {
    const known = have.find((c) => c.conversation_id === conv.conversation_id);
    if (!known) {
      have.push(conv);
      added++;
    }
    const history = await loadHistory(config.contract_id, conv.conversation_id);
    if (messages?.length && messages.length > history.length) {
      await saveHistory(config.contract_id, conv.conversation_id, messages);
    }
  }
  saveConversations(storage, config.contract_id, acct, have);
  const where = acct === account() ? "" : ` Sign in as ${acct} to see them.`;
  setStatus(`Imported ${added} new conversation key(s) of ${payload.conversations.length}.${where}`);
  if (acct === account()) await loadAccountConversations();
}
