// The 0G adapter's errors: every UpstreamError it raises, built here, and the guard that turns any
// SDK, chain or RPC failure into a sanitised 502. All are raised before a response exists, so nothing
// has been spent on chain for the request.
//
//   402 insufficient_ledger_balance  the ledger (and, if enabled, the wallet top-up) cannot fund the provider
//   503 provider_unacknowledged      the contract owner has not acknowledged the provider's TEE signer
//   503 provider_unavailable         the provider's endpoint cannot be reached (retryable)
//   404 model_not_found              no acknowledged 0G provider serves that model
//   502 zerog_error                  SDK / chain / RPC failure (retryable; message sanitised: never the key)
import { UpstreamError } from "../types.js";
import { revertName } from "./chain.js";

export const zeroGErrors = {
  shutDown: (name: string) => new UpstreamError(503, `${name} is shut down`, "provider_unavailable", true),
  unreachable: (provider: string, url: string) =>
    new UpstreamError(503, `0G provider ${provider} is unreachable at ${url}`, "provider_unavailable", true),
  unacknowledged: (message: string) => new UpstreamError(503, message, "provider_unacknowledged"),
  noProviderFor: (model: string) =>
    new UpstreamError(404, `no 0G provider serves model "${model}"`, "model_not_found"),
  noService: (provider: string) =>
    new UpstreamError(404, `0G provider ${provider} has no inference service`, "model_not_found"),
  ledgerTooLow: (message: string) => new UpstreamError(402, message, "insufficient_ledger_balance"),
  chain: (message: string) => new UpstreamError(502, message, "zerog_error", true),
};

/**
 * Runs an SDK/chain call; anything that is not already an UpstreamError becomes a 502 whose message
 * is one line, at most 300 characters, and never holds `secret` (the wallet key).
 */
export function guardWith(name: string, secret: string) {
  const key = secret.replace(/^0x/, "");
  const sanitise = (e: unknown): string => {
    const err = e as { shortMessage?: string; message?: string };
    const reverted = revertName(e);
    let msg = reverted
      ? `contract reverted with ${reverted}`
      : (err.shortMessage ?? err.message ?? String(e));
    msg = msg.split("\n")[0] ?? "";
    if (key) msg = msg.split(key).join("[redacted]");
    return msg.length > 300 ? `${msg.slice(0, 300)}…` : msg;
  };
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof UpstreamError) throw e;
      throw zeroGErrors.chain(`0G ${name}: ${sanitise(e)}`);
    }
  };
}
