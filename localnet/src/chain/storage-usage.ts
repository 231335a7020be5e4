// nearcore's storage accounting (RuntimeFeesConfig.storage_usage_config): every byte an account
// occupies must be backed by STORAGE_AMOUNT_PER_BYTE of its balance.
import type { AccessKey } from "../vm/types.js";
import { STORAGE_AMOUNT_PER_BYTE, ZERO_BALANCE_ACCOUNT_STORAGE_LIMIT } from "./config.js";
import { parsePublicKey } from "./public-key.js";

export const ACCOUNT_BYTES = 100n;
export const EXTRA_BYTES_PER_RECORD = 40n;

export function accessKeyStorage(publicKey: string, key: AccessKey): bigint {
  const pkLen = 1 + parsePublicKey(publicKey).data.length;
  let akLen = 8 + 1; // nonce + permission tag
  if (key.permission !== "FullAccess") {
    const p = key.permission;
    akLen += p.allowance === null ? 1 : 17;
    akLen += 4 + Buffer.byteLength(p.receiverId);
    akLen += 4 + p.methodNames.reduce((sum, m) => sum + 4 + Buffer.byteLength(m), 0);
  }
  return BigInt(pkLen + akLen) + EXTRA_BYTES_PER_RECORD;
}

export function dataStorage(keyLength: number, valueLength: number): bigint {
  return BigInt(keyLength + valueLength) + EXTRA_BYTES_PER_RECORD;
}

/** Balance an account needs to hold for its storage; 0 for small accounts without code (NEP-448). */
export function requiredStakeForStorage(storageUsage: bigint, hasCode: boolean): bigint {
  if (!hasCode && storageUsage <= ZERO_BALANCE_ACCOUNT_STORAGE_LIMIT) return 0n;
  return storageUsage * STORAGE_AMOUNT_PER_BYTE;
}
