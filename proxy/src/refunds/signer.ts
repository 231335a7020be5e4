// The secp256k1 refund key: AIPROXY_REFUND_SIGNER_KEY (env) or a key file. Never logged, never
// returned; only its address is printed (the owner registers it with set_refund_signers).
import { Wallet } from "ethers";
import { readSecretFile } from "../secret-file.js";

export const SIGNER_ENV = "AIPROXY_REFUND_SIGNER_KEY";

export function loadRefundSigner(env: NodeJS.ProcessEnv, keyFile?: string): Wallet | undefined {
  const raw =
    env[SIGNER_ENV]?.trim() || (keyFile ? readSecretFile(keyFile, "refund signer key file") : undefined);
  if (!raw) return undefined;
  const hex = raw.startsWith("0x") ? raw : `0x${raw}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
    // Do not echo the value: it is (a malformed) secret.
    throw new Error(`the refund signer key (${SIGNER_ENV} or key file) must be 32 bytes of hex`);
  }
  return new Wallet(hex);
}
