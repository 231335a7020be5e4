// Genesis state: test.near (the validator, near-sandbox's root account) and `near`, the registrar
// that may create short top-level accounts. Both use the validator key from validator_key.json.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  GENESIS_ACCOUNT,
  GENESIS_BALANCE,
  GENESIS_LOCKED,
  REGISTRAR_ACCOUNT,
  REGISTRAR_BALANCE,
} from "./chain/config.js";
import { generateEd25519KeyPair } from "./chain/public-key.js";
import { type ChainState, EMPTY_CODE_HASH } from "./chain/state.js";
import { ACCOUNT_BYTES, accessKeyStorage } from "./chain/storage-usage.js";

export interface ValidatorKey {
  account_id: string;
  public_key: string;
  secret_key: string;
}

export function validatorKeyPath(home: string): string {
  return join(home, "validator_key.json");
}

/** Reads DIR/validator_key.json, creating it (and DIR) with a fresh key when missing. */
export function ensureValidatorKey(home: string): ValidatorKey {
  const path = validatorKeyPath(home);
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as ValidatorKey;
  mkdirSync(home, { recursive: true });
  const { publicKey, secretKey } = generateEd25519KeyPair();
  // near-sandbox writes both spellings; near-workspaces reads secret_key, older tools private_key.
  const key = {
    account_id: GENESIS_ACCOUNT,
    public_key: publicKey,
    secret_key: secretKey,
    private_key: secretKey,
  };
  writeFileSync(path, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  return key;
}

export function writeGenesisState(state: ChainState, validatorPublicKey: string): void {
  const fullAccess = { nonce: 0n, permission: "FullAccess" as const };
  const usage = ACCOUNT_BYTES + accessKeyStorage(validatorPublicKey, fullAccess);
  for (const [id, amount, locked] of [
    [GENESIS_ACCOUNT, GENESIS_BALANCE, GENESIS_LOCKED],
    [REGISTRAR_ACCOUNT, REGISTRAR_BALANCE, 0n],
  ] as const) {
    state.setAccount(id, { amount, locked, codeHash: EMPTY_CODE_HASH, storageUsage: usage });
    state.setAccessKey(id, validatorPublicKey, fullAccess);
  }
}
