// Receipts and their outcomes, shaped after nearcore's Receipt / ExecutionOutcome.
import type { Action } from "../vm/types.js";
import type { TxAction } from "./transaction-codec.js";

export const SYSTEM_ACCOUNT = "system";

export interface Receipt {
  id: string;
  predecessorId: string;
  receiverId: string;
  signerId: string;
  signerPublicKey: string;
  actions: (Action | TxAction)[];
  /** Receipts whose results this one receives as promise results, in order. */
  dependsOn: string[];
}

/** What a receipt produced, as the receipts depending on it see it. */
export type ReceiptResult =
  | { kind: "value"; data: Uint8Array }
  | { kind: "failed" }
  /** promise_return: the result is the one of another receipt. */
  | { kind: "forward"; to: string };

export type ExecutionStatus =
  | { SuccessValue: string }
  | { SuccessReceiptId: string }
  | { Failure: { ActionError: { index: number | null; kind: unknown } } | { InvalidTxError: unknown } };

export interface Outcome {
  id: string;
  executorId: string;
  logs: string[];
  receiptIds: string[];
  gasBurnt: bigint;
  tokensBurnt: bigint;
  status: ExecutionStatus;
}
