// Conversation secrets on disk: one JSON file per conversation, mode 0600 in a 0700 folder,
// <dir>/<network>/<contract>/<conversation_id>.json. The secret is the proxy's API key; only its
// sha256 is on chain, so losing this file loses the ability to chat and to ask for a refund (the
// escrow is still reclaimable after its expiry). It is written before the escrow is opened.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { isConversationId } from "#wire";
import { conversationIdOf } from "#wire/crypto";
import { CliError } from "../cli.js";

export interface StoredConversation {
  conversation_id: string;
  /** The API key. */
  secret: string;
  network: string;
  contract_id: string;
  /** The opener: who pays, and who gets refunds. */
  account_id: string;
  proxy_url: string;
  saved_at: string;
}

export const DEFAULT_SECRETS_DIR = join(homedir(), ".near-ai-conversations");

export class SecretStore {
  readonly dir: string;

  constructor(root: string, network: string, contractId: string) {
    this.dir = join(root, network, contractId);
  }

  pathOf(conversationId: string): string {
    return join(this.dir, `${conversationId}.json`);
  }

  save(record: StoredConversation): string {
    if (conversationIdOf(record.secret) !== record.conversation_id)
      throw new Error("refusing to save a secret that does not hash to its conversation id");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const path = this.pathOf(record.conversation_id);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
    return path;
  }

  /** Only for an escrow that certainly never opened (its start panicked). */
  remove(conversationId: string): void {
    rmSync(this.pathOf(conversationId), { force: true });
  }

  all(): StoredConversation[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
      .map((f) => JSON.parse(readFileSync(join(this.dir, f), "utf8")) as StoredConversation);
  }

  /** By full id or a unique prefix of at least 8 hex characters; undefined when this store lacks it. */
  find(idOrPrefix: string): StoredConversation | undefined {
    const wanted = idOrPrefix.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(wanted))
      throw new CliError(
        `"${idOrPrefix}" is not a conversation id`,
        "pass the 64 hex characters `list` shows (or 8+ of them)",
      );
    const matches = this.all().filter((c) => c.conversation_id.startsWith(wanted));
    if (matches.length > 1)
      throw new CliError(
        `${matches.length} conversations start with ${wanted}`,
        "give more characters of the id",
      );
    return matches[0];
  }
}

/** Reads a secret file given by path (e.g. copied from another machine). */
export function readSecretFile(path: string): StoredConversation {
  let record: StoredConversation;
  try {
    record = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (
    !isConversationId(record.conversation_id ?? "") ||
    conversationIdOf(record.secret ?? "") !== record.conversation_id
  )
    throw new CliError(`${path} is not a conversation secret file (its secret does not hash to its id)`);
  return record;
}
