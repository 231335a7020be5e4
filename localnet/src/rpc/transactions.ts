// Transaction RPC methods: send_tx, broadcast_tx_commit / _async, tx, EXPERIMENTAL_tx_status.
import { BorshDecodeError } from "../chain/borsh-reader.js";
import type { Chain, StoredTransaction } from "../chain/chain.js";
import { InvalidTransaction } from "../chain/errors.js";
import { fromBase64 } from "../encoding.js";
import { handlerError, invalidTransaction, parseError } from "./rpc-error.js";

type Params = Record<string, unknown> | unknown[];

function signedTxBytes(params: Params): Uint8Array {
  const b64 = Array.isArray(params) ? params[0] : params.signed_tx_base64;
  if (typeof b64 !== "string") throw parseError("missing signed_tx_base64");
  return fromBase64(b64);
}

async function submit(chain: Chain, params: Params) {
  try {
    return await chain.submitTransaction(signedTxBytes(params));
  } catch (err) {
    if (err instanceof InvalidTransaction) throw invalidTransaction(err.error);
    if (err instanceof BorshDecodeError) {
      throw parseError(`Failed to decode transaction: ${err.message}`);
    }
    throw err;
  }
}

function finalOutcome(stored: StoredTransaction, waitUntil: string, withReceipts: boolean) {
  const { signerId: _signer, receipts, ...outcome } = stored;
  // Every block is final as soon as it exists, so FINAL is reached whenever it is asked for.
  const reached = waitUntil === "FINAL" ? "FINAL" : "EXECUTED_OPTIMISTIC";
  return { final_execution_status: reached, ...outcome, ...(withReceipts ? { receipts } : {}) };
}

export async function sendTx(chain: Chain, params: Params): Promise<unknown> {
  const waitUntil =
    (!Array.isArray(params) && typeof params.wait_until === "string" && params.wait_until) ||
    "EXECUTED_OPTIMISTIC";
  const { result } = await submit(chain, params);
  if (waitUntil === "NONE") return { final_execution_status: "NONE" };
  return finalOutcome(result, waitUntil, false);
}

export async function broadcastTxCommit(chain: Chain, params: Params): Promise<unknown> {
  const { result } = await submit(chain, params);
  return finalOutcome(result, "FINAL", false);
}

export async function broadcastTxAsync(chain: Chain, params: Params): Promise<unknown> {
  const { hash } = await submit(chain, params);
  return hash;
}

export function txStatus(chain: Chain, params: Params, withReceipts: boolean): unknown {
  const hash = Array.isArray(params) ? params[0] : params.tx_hash;
  const waitUntil =
    (!Array.isArray(params) && typeof params.wait_until === "string" && params.wait_until) ||
    "EXECUTED_OPTIMISTIC";
  let stored = typeof hash === "string" ? chain.transactions.get(hash) : undefined;
  if (!stored && !Array.isArray(params) && typeof params.signed_tx_base64 === "string") {
    stored = undefined;
  }
  if (!stored) {
    throw handlerError(
      "UNKNOWN_TRANSACTION",
      { requested_transaction_hash: hash },
      `Transaction ${String(hash)} doesn't exist`,
    );
  }
  return finalOutcome(stored, waitUntil, withReceipts);
}
