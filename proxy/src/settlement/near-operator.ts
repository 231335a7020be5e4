// The operator's NEAR account on near-api-js 7.2: signs refund_unspent without sending it (so the
// ledger can keep the exact bytes first), sends it, reads its outcome back by hash. Nonces are taken
// from the chain's access key each time (never a cache another process could have outrun), and the
// same bytes sent twice are one transaction to the chain: that is what makes a retry after a crash or
// a timeout safe.
import {
  actions,
  baseDecode,
  baseEncode,
  createTransaction,
  JsonRpcProvider,
  KeyPair,
  KeyPairSigner,
  type KeyPairString,
  SignedTransaction,
  teraToGas,
} from "near-api-js";
import {
  ActionExecutionError,
  NotEnoughBalanceError,
  TransactionExecutionError,
  UnknownTransactionError,
} from "near-api-js/rpc-errors";
import type { SignedRefund } from "#wire";
import { withTimeout } from "../timeout.js";
import type { OperatorChain, PreparedTx, TxOutcome } from "./types.js";

export interface NearOperatorOptions {
  rpcUrl: string;
  contractId: string;
  accountId: string;
  key: KeyPairString;
  /** Per RPC call. */
  timeoutMs: number;
}

interface RpcOutcome {
  status: unknown;
  receipts_outcome?: { outcome: { status: unknown } }[];
}

export class NearOperatorChain implements OperatorChain {
  readonly accountId: string;
  readonly #provider: JsonRpcProvider;
  readonly #signer: KeyPairSigner;
  readonly #options: NearOperatorOptions;
  /** The last nonce this process used: the chain's view may lag behind by a block. */
  #lastNonce = 0n;

  constructor(options: NearOperatorOptions) {
    this.#options = options;
    this.accountId = options.accountId;
    this.#provider = new JsonRpcProvider({ url: options.rpcUrl }, { retries: 2, backoff: 2, wait: 250 });
    this.#signer = new KeyPairSigner(KeyPair.fromString(options.key));
  }

  async chainTime(): Promise<bigint> {
    const block = await this.#timed(this.#provider.viewBlock({ finality: "final" }));
    return BigInt(block.header.timestamp_nanosec);
  }

  async prepareRefund(refund: SignedRefund, gasTgas: number): Promise<PreparedTx> {
    const publicKey = await this.#signer.getPublicKey();
    const [accessKey, block] = await Promise.all([
      this.#timed(
        this.#provider.viewAccessKey({
          accountId: this.accountId,
          publicKey,
          finalityQuery: { finality: "optimistic" },
        }),
      ),
      this.#timed(this.#provider.viewBlock({ finality: "final" })),
    ]);
    const chainNonce = BigInt(accessKey.nonce);
    const nonce = (chainNonce > this.#lastNonce ? chainNonce : this.#lastNonce) + 1n;
    this.#lastNonce = nonce;
    const tx = createTransaction(
      this.accountId,
      publicKey,
      this.#options.contractId,
      nonce,
      [actions.functionCall("refund_unspent", { ...refund }, teraToGas(gasTgas), 0n)],
      baseDecode(block.header.hash),
    );
    const { txHash, signedTransaction } = await this.#signer.signTransaction(tx);
    return { hash: baseEncode(txHash), signed: Buffer.from(signedTransaction.encode()).toString("base64") };
  }

  async send(tx: PreparedTx): Promise<TxOutcome> {
    try {
      const signed = SignedTransaction.decode(Buffer.from(tx.signed, "base64"));
      return outcomeOf(await this.#timed(this.#provider.sendTransactionUntil(signed, "FINAL")));
    } catch (e) {
      return thrown(e);
    }
  }

  async status(tx: PreparedTx): Promise<TxOutcome | undefined> {
    try {
      const result = await this.#timed(
        this.#provider.viewTransactionStatus({
          txHash: tx.hash,
          accountId: this.accountId,
          waitUntil: "FINAL",
        }),
      );
      return outcomeOf(result);
    } catch (e) {
      if (e instanceof UnknownTransactionError || /doesn't exist|UNKNOWN_TRANSACTION/i.test(String(e)))
        return undefined;
      return { kind: "unavailable", message: messageOf(e) };
    }
  }

  #timed<T>(promise: Promise<T>): Promise<T> {
    const ms = this.#options.timeoutMs;
    return withTimeout(promise, ms, `NEAR RPC timed out after ${ms} ms`);
  }
}

/** A final outcome: the transaction's status, or the first failed receipt's. */
function outcomeOf(result: unknown): TxOutcome {
  const r = result as RpcOutcome;
  const failure = failureOf(r.status);
  if (!failure) return { kind: "success" };
  const call = (failure as { ActionError?: { kind?: { FunctionCallError?: Record<string, unknown> } } })
    .ActionError?.kind?.FunctionCallError;
  const host = call?.["HostError"];
  if (host === "GasExceeded" || host === "GasLimitExceeded")
    return { kind: "gas", message: `refund_unspent ran out of gas (${host})` };
  const execution = call?.["ExecutionError"];
  if (typeof execution === "string")
    return { kind: "panic", message: execution.replace(/^Smart contract panicked: /, "") };
  return { kind: "panic", message: JSON.stringify(failure).slice(0, 300) };
}

function failureOf(status: unknown): unknown {
  if (status && typeof status === "object" && "Failure" in status)
    return (status as { Failure: unknown }).Failure;
  return undefined;
}

/** An exception from sending: refused before execution, or no answer. */
function thrown(e: unknown): TxOutcome {
  // InvalidTxError (nonce, expiry, balance, signature): raised before any receipt ran.
  if (e instanceof TransactionExecutionError && !(e instanceof ActionExecutionError))
    return {
      kind: "rejected",
      message: messageOf(e),
      ...(e instanceof NotEnoughBalanceError ? { balance: true } : {}),
    };
  return { kind: "unavailable", message: messageOf(e) };
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 300);
}
