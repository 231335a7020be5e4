// What went wrong, in the user's terms, and what to do next: a contract panic's reason (the contract
// panics with the reason alone), an unreachable RPC, an unknown account.
import { AccountDoesNotExistError } from "near-api-js/rpc-errors";
import { asCliError, CliError } from "../cli.js";

const hints: [RegExp, string][] = [
  [
    /is not registered/,
    "register the account with the token first (storage_deposit, see contracts/README.md)",
  ],
  [
    /doesn't have enough balance/,
    "get tokens first: buy_tokens_for_near or an ft_transfer (see contracts/README.md)",
  ],
  [
    /expires_in_secs must be/,
    "pick --expires-in within the contract's bounds (get_config.conversation_expiry)",
  ],
  [
    /already (refunded|reclaimed)/,
    "nothing is left in that escrow: `npm run conversation -- status --id <id>` shows how it ended",
  ],
  [/expires at/, "wait until then, or get the unspent part now: npm run conversation -- refund --id <id>"],
  [/no longer registered/, "register again (storage_deposit), then retry"],
];

/** The human part of a near-api-js error ("Smart contract panicked: <reason>" → reason). */
export function reasonOf(e: unknown): string {
  const text = (e as Error)?.message ?? String(e);
  const panic = /Smart contract panicked: (.*)/s.exec(text);
  return (panic ? panic[1] : text).split("\n")[0]?.trim() ?? text;
}

export function explain(e: unknown): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof AccountDoesNotExistError)
    return new CliError(reasonOf(e), "check the account id and --network (an account must exist on chain)");
  const err = e as { cause?: { code?: string }; message?: string };
  if (err?.cause?.code === "ECONNREFUSED" || /fetch failed/.test(err?.message ?? ""))
    return new CliError(
      `the NEAR RPC does not answer (${err.cause?.code ?? "fetch failed"})`,
      "on localnet start it with `npm start`; otherwise check --rpc and your connection",
    );
  const reason = reasonOf(e);
  const hint = hints.find(([re]) => re.test(reason))?.[1];
  return hint ? new CliError(reason, hint) : asCliError(new Error(reason));
}
