// Balances: one storage record per registered account, key "b" + account id, value a decimal string.
// A record's existence is the NEP-145 registration.
import { near } from "near-sdk-js";
import { fail, need } from "./util";

const PREFIX = "b";

export function balanceOf(account: string): bigint | null {
  const raw = near.storageRead(PREFIX + account);
  return raw === null ? null : BigInt(raw);
}

export function isRegistered(account: string): boolean {
  return near.storageHasKey(PREFIX + account);
}

export function registeredBalance(account: string): bigint {
  const balance = balanceOf(account);
  if (balance === null) fail(`The account ${account} is not registered`);
  return balance;
}

export function setBalance(account: string, amount: bigint): void {
  near.storageWrite(PREFIX + account, amount.toString());
}

export function removeAccount(account: string): void {
  near.storageRemove(PREFIX + account);
}

export function withdraw(account: string, amount: bigint): void {
  const balance = registeredBalance(account);
  need(balance >= amount, "The account doesn't have enough balance");
  setBalance(account, balance - amount);
}

export function deposit(account: string, amount: bigint): void {
  setBalance(account, registeredBalance(account) + amount);
}

/** Storage one registration costs at its largest: a 64-char id and a 39-digit balance. */
export function measureAccountStorage(): bigint {
  const before = near.storageUsage();
  const probe = "a".repeat(64);
  setBalance(probe, (1n << 128n) - 1n);
  const bytes = near.storageUsage() - before;
  removeAccount(probe);
  return bytes;
}
