// A secret read from the file the config names: its trimmed text, or an error naming the file and
// the errno code, never the contents. (The scrubber's own reads, secrets/collect.ts, never throw.)
import { readFileSync } from "node:fs";

/** `what` names the setting in the error: "refund signer key file", "operator.token_file". */
export function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
}
