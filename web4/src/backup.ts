// Export and import of conversation keys (and their local histories), so a browser change or a
// cleared storage costs no money. The file is JSON: a clear header (what it is, for which contract
// and account) and a payload encrypted with AES-256-GCM under a key derived from a passphrase with
// PBKDF2-SHA-256 (600,000 iterations, OWASP's 2023 figure); the header is the GCM associated data,
// so it cannot be swapped either. All WebCrypto: nothing hand-rolled but the file layout.
import type { UiMessage } from "./history.js";
import { base64ToBytes, bytesToBase64 } from "./near/base58.js";
import { isStoredConversation, type StoredConversation } from "./secret.js";

export const BACKUP_FORMAT = "aiconv-keys";
const ITERATIONS = 600_000;

export interface BackupPayload {
  exported_at: string;
  conversations: (StoredConversation & { messages?: UiMessage[] })[];
}

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: 1;
  network: string;
  contract_id: string;
  account_id: string;
  kdf: { name: "PBKDF2"; hash: "SHA-256"; iterations: number; salt: string };
  cipher: { name: "AES-GCM"; iv: string };
}
export interface BackupFile extends BackupHeader {
  data: string;
}

type Buf = Uint8Array<ArrayBuffer>;
const utf8 = (s: string) => new TextEncoder().encode(s) as Buf;
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n)) as Buf;

async function keyFrom(passphrase: string, salt: Buf, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", utf8(passphrase.normalize("NFC")), "PBKDF2", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

const headerBytes = (h: BackupHeader) =>
  utf8(JSON.stringify([h.format, h.version, h.network, h.contract_id, h.account_id, h.kdf, h.cipher]));

export async function encryptBackup(
  scope: { network: string; contract_id: string; account_id: string },
  payload: BackupPayload,
  passphrase: string,
): Promise<BackupFile> {
  const salt = random(16);
  const iv = random(12);
  const header: BackupHeader = {
    format: BACKUP_FORMAT,
    version: 1,
    ...scope,
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations: ITERATIONS, salt: bytesToBase64(salt) },
    cipher: { name: "AES-GCM", iv: bytesToBase64(iv) },
  };
  const key = await keyFrom(passphrase, salt, ITERATIONS);
  const data = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: headerBytes(header) },
    key,
    utf8(JSON.stringify(payload)),
  );
  return { ...header, data: bytesToBase64(new Uint8Array(data)) };
}

export class BackupError extends Error {
  override name = "BackupError";
}

/** Checks the file's shape before any crypto, so a wrong file says so instead of "wrong passphrase". */
export function parseBackupFile(text: string): BackupFile {
  let file: BackupFile;
  try {
    file = JSON.parse(text);
  } catch {
    throw new BackupError("This is not a key export file (it is not JSON).");
  }
  if (file?.format !== BACKUP_FORMAT) throw new BackupError("This is not a key export file from this app.");
  if (file.version !== 1)
    throw new BackupError(`This export has version ${file.version}; this app reads version 1.`);
  if (
    typeof file.data !== "string" ||
    typeof file.kdf?.salt !== "string" ||
    typeof file.cipher?.iv !== "string"
  )
    throw new BackupError("This key export file is damaged.");
  return file;
}

export async function decryptBackup(file: BackupFile, passphrase: string): Promise<BackupPayload> {
  const iterations = file.kdf.iterations;
  if (!Number.isInteger(iterations) || iterations < 100_000 || iterations > 10_000_000)
    throw new BackupError("This key export file is damaged.");
  const key = await keyFrom(passphrase, base64ToBytes(file.kdf.salt) as Buf, iterations);
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: base64ToBytes(file.cipher.iv) as Buf, additionalData: headerBytes(file) },
      key,
      base64ToBytes(file.data) as Buf,
    );
  } catch {
    throw new BackupError("Wrong passphrase, or the file was changed.");
  }
  const payload = JSON.parse(new TextDecoder().decode(plain)) as BackupPayload;
  return {
    exported_at: String(payload.exported_at),
    conversations: (Array.isArray(payload.conversations) ? payload.conversations : []).filter(
      isStoredConversation,
    ),
  };
}
