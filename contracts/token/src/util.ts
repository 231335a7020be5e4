// Small guards shared by every module. Errors thrown here surface as
// "Smart contract panicked: <message>", so each message names what was wrong.
import { near } from "near-sdk-js";

export const U128_MAX = (1n << 128n) - 1n;
const ACCOUNT_RE = /^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$/;

export function fail(message: string): never {
  throw new Error(message);
}

export function need(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

/** Exact base-10 U128: no sign, fraction, exponent, leading zero or overflow gets through. */
export function u128(value: unknown, what: string): bigint {
  need(
    typeof value === "string" && /^(0|[1-9][0-9]{0,38})$/.test(value),
    `${what} must be a U128 decimal string`,
  );
  const n = BigInt(value);
  need(n <= U128_MAX, `${what} overflows u128`);
  return n;
}

export function positiveU128(value: unknown, what: string): bigint {
  const n = u128(value, what);
  need(n > 0n, `${what} must be positive`);
  return n;
}

export function accountId(value: unknown, what: string): string {
  need(
    typeof value === "string" && value.length >= 2 && value.length <= 64 && ACCOUNT_RE.test(value),
    `${what} is not a valid account id`,
  );
  return value;
}

/**
 * Token holders other than the contract itself: ft_balance_of(contract) reports the open escrow, so
 * a balance booked to the contract account would be invisible and unspendable.
 */
export function holderId(value: unknown, what: string): string {
  const id = accountId(value, what);
  need(
    id !== near.currentAccountId(),
    `${what} cannot be the token contract itself (its balance is the escrow)`,
  );
  return id;
}

/** NEP-141/145 convention: a full-access key must confirm value-moving calls. */
export function assertOneYocto(): void {
  need(near.attachedDeposit() === 1n, "Requires attached deposit of exactly 1 yoctoNEAR");
}

/** Detached NEAR transfer (refunds of excess deposits); it does not affect the call's return value. */
export function sendNear(to: string, amount: bigint): void {
  if (amount <= 0n) return;
  const p = near.promiseBatchCreate(to);
  near.promiseBatchActionTransfer(p, amount);
}

const HEX = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return out;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** QuickJS has no btoa; web4 bodies are base64. */
export function toBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out +=
      B64[(n >> 18) & 63] +
      B64[(n >> 12) & 63] +
      (i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=") +
      (i + 2 < bytes.length ? B64[n & 63] : "=");
  }
  return out;
}
