// Helpers for tests that run the proxy as a child process.
import { randomBytes } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const projectRootForProxy = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function newSecret(): string {
  return randomBytes(32).toString("hex");
}
