// A small NEAR JSON-RPC client: view calls, access keys, sending signed transactions, and reading the
// outcome (return value, failure message, NEP-297 events from every receipt's logs).
import { base64ToBytes, bytesToBase64 } from "./base58.js";

export class RpcError extends Error {
  constructor(
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

/** A transaction that executed but whose receipts failed (e.g. "Smart contract panicked: …"). */
export class TxFailedError extends Error {
  constructor(
    message: string,
    readonly outcome: FinalOutcome,
  ) {
    super(message);
    this.name = "TxFailedError";
  }
}

export interface ExecutionOutcome {
  logs: string[];
  status: { SuccessValue?: string; SuccessReceiptId?: string; Failure?: unknown } | string;
  executor_id?: string;
  tokens_burnt?: string;
  gas_burnt?: number;
}
export interface FinalOutcome {
  status: { SuccessValue?: string; Failure?: unknown } | string;
  transaction: { hash: string; signer_id: string; receiver_id: string };
  transaction_outcome: { id: string; outcome: ExecutionOutcome };
  receipts_outcome: { id: string; outcome: ExecutionOutcome }[];
}

export interface NepEvent {
  standard: string;
  version: string;
  event: string;
  data?: unknown;
  /** Which account's receipt logged it. */
  executor_id?: string;
}

export class NearRpc {
  private id = 0;
  constructor(
    readonly url: string,
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  async call<T>(method: string, params: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchImpl(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++this.id, method, params }),
      });
    } catch (e) {
      throw new RpcError(`NEAR RPC unreachable at ${this.url} (${(e as Error).message})`);
    }
    const body = (await res.json().catch(() => null)) as { result?: T; error?: RpcErrorBody } | null;
    if (!body) throw new RpcError(`NEAR RPC returned HTTP ${res.status} without JSON`);
    if (body.error) throw new RpcError(describeRpcError(body.error), body.error);
    return body.result as T;
  }

  /** View call with JSON args and a JSON result; null when the method returns nothing. */
  async view<T>(contractId: string, method: string, args: object = {}): Promise<T> {
    const result = await this.call<{ result?: number[]; error?: string }>("query", {
      request_type: "call_function",
      finality: "final",
      account_id: contractId,
      method_name: method,
      args_base64: bytesToBase64(new TextEncoder().encode(JSON.stringify(args))),
    });
    // Older nodes report view panics as a result.error string rather than a JSON-RPC error.
    if (result.error) throw new RpcError(result.error);
    const bytes = new Uint8Array(result.result ?? []);
    return (bytes.length ? JSON.parse(new TextDecoder().decode(bytes)) : null) as T;
  }

  async accessKey(
    accountId: string,
    publicKey: string,
  ): Promise<{ nonce: number | string; block_hash: string }> {
    return this.call("query", {
      request_type: "view_access_key",
      finality: "final",
      account_id: accountId,
      public_key: publicKey,
    });
  }

  async nearBalance(accountId: string): Promise<bigint> {
    const acct = await this.call<{ amount: string }>("query", {
      request_type: "view_account",
      finality: "final",
      account_id: accountId,
    });
    return BigInt(acct.amount);
  }

  async sendTx(signedTx: Uint8Array): Promise<FinalOutcome> {
    return this.call("send_tx", {
      signed_tx_base64: bytesToBase64(signedTx),
      wait_until: "EXECUTED_OPTIMISTIC",
    });
  }

  /** Used after a redirect wallet (MyNearWallet) comes back with ?transactionHashes=. */
  async txStatus(txHash: string, senderId: string): Promise<FinalOutcome> {
    return this.call("EXPERIMENTAL_tx_status", {
      tx_hash: txHash,
      sender_account_id: senderId,
      wait_until: "FINAL",
    });
  }
}

interface RpcErrorBody {
  name?: string;
  message?: string;
  data?: unknown;
  cause?: { name?: string; info?: unknown };
}

function describeRpcError(err: RpcErrorBody): string {
  const data = typeof err.data === "string" ? err.data : err.data ? JSON.stringify(err.data) : "";
  const cause = err.cause?.name ? `${err.cause.name}: ` : "";
  return `${cause}${data || err.message || "RPC error"}`.slice(0, 500);
}

/** Throws TxFailedError if any receipt failed; returns the final JSON value (or null). */
export function outcomeValue<T = unknown>(outcome: FinalOutcome): T | null {
  const failure = findFailure(outcome);
  if (failure) throw new TxFailedError(failure, outcome);
  const status = outcome.status;
  if (typeof status === "object" && typeof status.SuccessValue === "string" && status.SuccessValue) {
    const text = new TextDecoder().decode(base64ToBytes(status.SuccessValue));
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }
  return null;
}

export function findFailure(outcome: FinalOutcome): string | null {
  const all = [
    outcome.status,
    outcome.transaction_outcome?.outcome.status,
    ...outcome.receipts_outcome.map((r) => r.outcome.status),
  ];
  for (const s of all) {
    if (s && typeof s === "object" && "Failure" in s && s.Failure) return failureMessage(s.Failure);
  }
  return null;
}

/** Digs the human part out of nearcore's nested failure ("Smart contract panicked: …"). */
export function failureMessage(failure: unknown): string {
  const text = JSON.stringify(failure);
  const exec = /"ExecutionError":"((?:[^"\\]|\\.)*)"/.exec(text);
  if (exec) return JSON.parse(`"${exec[1]}"`) as string;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** NEP-297 events ("EVENT_JSON:{…}") from every receipt of the transaction, in execution order. */
export function extractEvents(outcome: FinalOutcome): NepEvent[] {
  const events: NepEvent[] = [];
  for (const r of outcome.receipts_outcome ?? []) {
    for (const log of r.outcome.logs ?? []) {
      if (!log.startsWith("EVENT_JSON:")) continue;
      try {
        const ev = JSON.parse(log.slice("EVENT_JSON:".length)) as NepEvent;
        if (typeof ev.standard === "string" && typeof ev.event === "string") {
          events.push({ ...ev, executor_id: r.outcome.executor_id });
        }
      } catch {
        // A malformed event log is the contract's bug, not a reason to hide the others.
      }
    }
  }
  return events;
}
