// Shared bits for the 0G tests: the local harness, an SSE reader and a runner for the scripts.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Contract, type Wallet } from "ethers";
import type { Local0g } from "#internal/scripts/0g/local-harness";
import { InferenceServing, LedgerManager, readLedger, readSubAccount } from "#proxy/0g-chain";

export { type Local0g, startLocal0g } from "#internal/scripts/0g/local-harness";

const run = promisify(execFile);

/** Runs `npm run 0g -- <verb> <args>` (tsx scripts/0g.ts) against a local chain; never throws, returns the outcome. */
export async function runScript(
  verb: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import=tsx", "scripts/0g.ts", verb, ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : 1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
  }
}

/** Every `data:` payload of an SSE body, [DONE] included. */
export async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6));
}

/** A wallet's 0G ledger (undefined when it has none). */
export async function ledgerOf(
  zg: Local0g,
  addr: string,
): Promise<{ total: bigint; available: bigint } | undefined> {
  const l = await readLedger(new Contract(zg.addresses.ledger, LedgerManager.abi, zg.rpc), addr);
  return l.exists ? { total: l.total, available: l.available } : undefined;
}

/** A (user, provider) inference sub-account; balance 0 when it does not exist. */
export async function subAccountOf(
  zg: Local0g,
  user: string,
  provider: string,
): Promise<{ exists: boolean; balance: bigint; acknowledged: boolean }> {
  const c = new Contract(zg.addresses.inference, InferenceServing.abi, zg.rpc);
  const { exists, balance, acknowledged } = await readSubAccount(c, user, provider);
  return { exists, balance, acknowledged };
}

/** wallet → ledger with the contract itself (exact wei; the first deposit creates the ledger). */
export async function depositToLedger(zg: Local0g, wallet: Wallet, amountWei: bigint): Promise<void> {
  const c = new Contract(zg.addresses.ledger, LedgerManager.abi, wallet);
  await (await c.getFunction("depositFund")({ value: amountWei })).wait();
}
