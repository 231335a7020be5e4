// What settlement needs from the chain beyond views (the operator account that submits
// refund_unspent), what a pass reports, and the handle the rest of the proxy sees. No imports from the
// proxy's context: context.ts imports this file.
import type { SignedRefund } from "#wire";
import type { ConversationState } from "../store/types.js";

/** A refund_unspent transaction, signed and not sent: kept in the ledger and re-sent as is. */
export interface PreparedTx {
  /** base58 transaction hash, as explorers and `tx` show it. */
  hash: string;
  /** base64 borsh SignedTransaction. */
  signed: string;
}

export type TxOutcome =
  /** Executed and succeeded: the refund paid. */
  | { kind: "success" }
  /** Executed and the contract refused it (the reason without a stack trace). */
  | { kind: "panic"; message: string }
  /** Executed and ran out of its prepaid gas. */
  | { kind: "gas"; message: string }
  /**
   * Refused before execution (nonce taken, expired, not enough NEAR for gas): it never ran and never
   * will; a new transaction is needed. `balance` marks the operator account being short of NEAR.
   */
  | { kind: "rejected"; message: string; balance?: boolean }
  /** No answer (network, timeout, node error): it may or may not land; re-send the same bytes. */
  | { kind: "unavailable"; message: string };

/** The operator's NEAR account, as the worker uses it. */
export interface OperatorChain {
  readonly accountId: string;
  /** Time of the latest final block, ns (the clock reclaim_expired_conversation is judged by). */
  chainTime(): Promise<bigint>;
  /** Signs (does not send) refund_unspent(refund) with `gasTgas` attached. */
  prepareRefund(refund: SignedRefund, gasTgas: number): Promise<PreparedTx>;
  /** Sends a prepared transaction and waits for its final outcome; never throws. */
  send(tx: PreparedTx): Promise<TxOutcome>;
  /** The outcome of a transaction sent before, undefined when the chain does not know it. */
  status(tx: PreparedTx): Promise<TxOutcome | undefined>;
}

/** What one pass did (or, dry, would do) with one conversation. */
export interface PassEntry {
  conversation_id: string;
  action: "settled" | "refunded" | "reclaimed" | "skipped" | "retry" | "would_settle" | "would_skip" | "gone";
  reason?: "idle" | "expiry";
  /** Token units: back to the opener, to the operator (settled); what was lost (reclaimed). */
  refund_amount?: string;
  operator_amount?: string;
  tx_hash?: string;
  error?: string;
}

export interface PassReport {
  started_at: number;
  finished_at: number;
  dry_run: boolean;
  /** Chain time at the start (ns, string), undefined when the chain could not be read. */
  chain_time?: string;
  /** Conversations on the work list, and how many were due. */
  unsettled: number;
  due: number;
  entries: PassEntry[];
  /** Why the pass stopped early or did not run (chain unreachable, lease lost, not the leader). */
  stopped?: string;
}

/** The settlement worker as the rest of the proxy sees it (routes). */
export interface SettlementHandle {
  /** Settlement runs here: an operator account and key are configured and settle.enabled is on. */
  readonly active: boolean;
  /** Why not, when inactive (for /v1/operator/summary and the startup log). */
  readonly inactiveReason?: string;
  /** This process holds the leader lease now. */
  isLeader(): boolean;
  /** When the worker will settle this conversation if nothing else happens (ns), and why. */
  settleAt(state: ConversationState): { at: bigint; reason: "idle" | "expiry" } | undefined;
  /** A pass now, as the leader (taking the lease if free); a dry run decides without acting. */
  passNow(options: { dryRun?: boolean }): Promise<PassReport>;
  /** The operator summary (JSON-ready: amounts as base-10 strings). */
  summary(): Promise<Record<string, unknown>>;
}
