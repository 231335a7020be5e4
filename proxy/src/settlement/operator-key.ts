// The operator account's ed25519 key: AIPROXY_OPERATOR_KEY (env, `ed25519:…`) or settle.operator_key_file
// (a near-cli credentials JSON `{account_id, public_key, private_key}` or a line `ed25519:…`). Never
// logged, never returned, never in an error message (T13, T22): errors name the variable or the file.
import { readFileSync } from "node:fs";
import { KeyPair, type KeyPairString } from "near-api-js";
import { readSecretFile } from "../secret-file.js";

export const OPERATOR_KEY_ENV = "AIPROXY_OPERATOR_KEY";

export interface OperatorKey {
  /** From settle.operator_account_id, else the credentials file's account_id. */
  accountId: string | undefined;
  key: KeyPairString;
}

/** The raw secret text (for the secret scrubber), or undefined when none is configured. */
export function operatorKeyText(env: NodeJS.ProcessEnv, keyFile?: string): string | undefined {
  const fromEnv = env[OPERATOR_KEY_ENV]?.trim();
  if (fromEnv) return fromEnv;
  if (!keyFile) return undefined;
  try {
    return readFileSync(keyFile, "utf8").trim();
  } catch {
    return undefined;
  }
}

export function loadOperatorKey(
  env: NodeJS.ProcessEnv,
  options: { accountId?: string; keyFile?: string },
): OperatorKey | undefined {
  const fromEnv = env[OPERATOR_KEY_ENV]?.trim();
  const where = fromEnv ? OPERATOR_KEY_ENV : options.keyFile;
  let text = fromEnv;
  if (!text && options.keyFile) text = readSecretFile(options.keyFile, "the operator key file");
  if (!text) return undefined;
  let key: string | undefined = text;
  let accountId = options.accountId;
  if (text.startsWith("{")) {
    let json: { account_id?: unknown; private_key?: unknown; secret_key?: unknown };
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`the operator key in ${where} is neither JSON credentials nor an ed25519: key`);
    }
    key = typeof json.private_key === "string" ? json.private_key : (json.secret_key as string | undefined);
    if (!accountId && typeof json.account_id === "string") accountId = json.account_id;
  }
  if (typeof key !== "string" || !key.startsWith("ed25519:"))
    throw new Error(`the operator key in ${where} must be an ed25519 key ("ed25519:…")`);
  try {
    KeyPair.fromString(key as KeyPairString);
  } catch {
    throw new Error(`the operator key in ${where} is not a valid ed25519 secret key`);
  }
  return { accountId, key: key as KeyPairString };
}
