// Points near-workspaces at localnet's near-sandbox-compatible executable, unless the developer
// already chose a real near-sandbox by setting NEAR_SANDBOX_BIN_PATH (see README "Real near-sandbox").
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function useLocalnet(): string {
  if (!process.env.NEAR_SANDBOX_BIN_PATH) {
    const binDir = join(projectRoot, ".localnet", "bin");
    if (!existsSync(join(binDir, "near-sandbox"))) {
      throw new Error("localnet launcher missing: run `node scripts/setup.mjs` (npm test does it for you)");
    }
    process.env.NEAR_SANDBOX_BIN_PATH = binDir;
    process.env.NEAR_SANDBOX_BINARY_PATH = binDir;
  } else {
    process.env.NEAR_SANDBOX_BINARY_PATH ??= process.env.NEAR_SANDBOX_BIN_PATH;
  }
  return process.env.NEAR_SANDBOX_BINARY_PATH as string;
}

/** True when the developer pointed near-workspaces at a real near-sandbox rather than localnet. */
export function usingRealSandbox(): boolean {
  const configured = process.env.NEAR_SANDBOX_BIN_PATH;
  return Boolean(configured) && configured !== join(projectRoot, ".localnet", "bin");
}
