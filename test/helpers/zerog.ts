// Shared bits for the 0G tests: the local harness, an SSE reader and a runner for the scripts.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

export { type Local0g, startLocal0g } from "../../scripts/0g/local-harness.js";

const run = promisify(execFile);

/** Runs `tsx scripts/0g/<verb>.ts <args>` against a local chain; never throws, returns the outcome. */
export async function runScript(
  verb: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import=tsx", `scripts/0g/${verb}.ts`, ...args],
      {
        env: { ...process.env, ...env },
        timeout: 60_000,
      },
    );
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
