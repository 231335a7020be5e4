// One conversation due for settlement, taken to a final payout. Every step is one atomic update of
// the conversation's ledger record, taken in this order, so a process killed anywhere neither loses a
// settlement nor submits one twice:
//   claim (payout `claimed`) -> close + wait for in-flight requests + sign (the user's refund path)
//   -> sign the transaction and store it (`submitted`) -> send those exact bytes -> record the outcome.
// A resumed `submitted` payout asks the chain for its transaction by hash before sending it again,
// and the same bytes are one transaction to the chain anyway. The chain's tombstone is the final
// word: a conversation already refunded or reclaimed is recorded as such and never retried.
import type { SignedRefund } from "#wire";
import { type ChainClient, ChainUnavailableError } from "../chain/types.js";
import type { Logger } from "../logger.js";
import type { ConversationState, ConversationStore, Payout } from "../store/types.js";
import { countFailure, countFinished, type SettlementMetrics } from "./metrics.js";
import { failed, type SettleRules } from "./policy.js";
import { checkRefund } from "./refund-check.js";
import type { OperatorChain, PassEntry, TxOutcome } from "./types.js";

export interface WorkerDeps {
  store: ConversationStore;
  chain: ChainClient;
  operator: OperatorChain;
  logger: Logger;
  metrics: SettlementMetrics;
  contractId: string;
  rules: SettleRules;
  gasTgas: number;
  maxPerPass: number;
  /** The refund signer's address: only messages it signed are submitted. */
  signerAddress: string;
  /** Close, wait for in-flight requests, sign: the same close as a user's refund (refunds/refund.ts). */
  refund(conversationId: string): Promise<SignedRefund>;
  /** The proxy's clock, ms (injectable: tests move it instead of waiting). */
  now(): number;
}

const MAX_GAS_TGAS = 300;

/** Spent less than min_spent and the expiry is near: close it (no more service), leave it to its opener. */
export async function skip(deps: WorkerDeps, state: ConversationState): Promise<PassEntry> {
  const id = state.conversation_id;
  await deps.store.closeConversation(id);
  const { applied } = await finalize(deps, id, (current) =>
    current
      ? undefined
      : {
          state: "skipped",
          reason: "expiry",
          attempts: 0,
          spent: state.spent.toString(),
          updated_at: deps.now(),
        },
  );
  if (applied) countFinished(deps.metrics, "skipped");
  return { conversation_id: id, action: "skipped", reason: "expiry" };
}

export async function settleOne(
  deps: WorkerDeps,
  state: ConversationState,
  reason: "idle" | "expiry",
): Promise<PassEntry> {
  const id = state.conversation_id;
  const now = deps.now();
  let payout = await deps.store.updatePayout(id, (current) =>
    current ? undefined : { state: "claimed", reason, attempts: 0, updated_at: now },
  );
  if (!payout) return gone(id);
  if (payout.state !== "claimed" && payout.state !== "submitted") return entryOf(id, payout);
  const taken: Payout = payout;
  try {
    // The chain first: a conversation someone already ended is recorded, never submitted again.
    const ended = await endedOnChain(deps, state, payout);
    if (ended) return ended;
    let fresh = false;
    if (payout.state === "claimed") {
      const refund = await deps.refund(id);
      const refused = await checkRefund(deps, id, refund);
      if (refused) return await retryLater(deps, id, payout, "mismatch", refused);
      const gas = payout.gas_tgas ?? deps.gasTgas;
      const tx = await deps.operator.prepareRefund(refund, gas);
      payout = await deps.store.updatePayout(id, (current) =>
        current?.state === "claimed"
          ? { ...current, state: "submitted", tx: { ...tx, gas_tgas: gas }, updated_at: deps.now() }
          : undefined,
      );
      // Lost a race to another worker: its transaction (if any) is the one; ours is never sent.
      if (payout?.state !== "submitted") return payout ? entryOf(id, payout) : gone(id);
      fresh = payout.tx!.hash === tx.hash;
    }
    const tx = payout.tx!;
    // A transaction stored before (by us before a crash, or by a leader that died) may have landed.
    const outcome = (fresh ? undefined : await deps.operator.status(tx)) ?? (await deps.operator.send(tx));
    return await recordOutcome(deps, state, payout, outcome);
  } catch (e) {
    // Views, signing and the refund's chain reads: an outage or an unexpected error, tried again later.
    const rpc = e instanceof ChainUnavailableError || (e as { code?: string }).code === "chain_unavailable";
    return retryLater(deps, id, payout ?? taken, rpc ? "rpc" : "error", (e as Error).message);
  }
}

/** The chain says refunded or reclaimed: record it as final (settled when it was our transaction). */
async function endedOnChain(
  deps: WorkerDeps,
  state: ConversationState,
  payout: Payout,
): Promise<PassEntry | undefined> {
  const id = state.conversation_id;
  const view = await deps.chain.viewConversation(id);
  if (!view) return retryLater(deps, id, payout, "not_found", "the chain does not know this conversation");
  if (view.status !== "refunded" && view.status !== "reclaimed") return undefined;
  const back = BigInt(view.refund_amount ?? view.deposit);
  if (view.status === "reclaimed") {
    const { applied, payout: final } = await finalize(deps, id, (current) => ({
      ...(current ?? { reason: payout.reason, attempts: 0 }),
      state: "reclaimed",
      refund_amount: back.toString(),
      operator_amount: "0",
      spent: state.spent.toString(),
      tx: undefined,
      updated_at: deps.now(),
    }));
    if (applied) {
      countFinished(deps.metrics, "reclaimed", { lost: state.spent });
      deps.logger.warn(
        { conversation_id: id, lost: state.spent.toString() },
        "settlement: the opener reclaimed the escrow after expiry; what was spent is lost",
      );
    }
    return entryOf(id, final!);
  }
  // Refunded: by our transaction (we died before recording it), or by someone else's.
  const ours = payout.tx ? (await deps.operator.status(payout.tx))?.kind === "success" : false;
  return recordPaid(deps, state, payout, ours ? "settled" : "refunded", back);
}

async function recordOutcome(
  deps: WorkerDeps,
  state: ConversationState,
  payout: Payout,
  outcome: TxOutcome,
): Promise<PassEntry> {
  const id = state.conversation_id;
  switch (outcome.kind) {
    case "success": {
      // It executed the stored message: that message says what went back to the opener.
      const refund = await deps.store.getRefund(id);
      const back = BigInt(JSON.parse(refund!.refund_message).refund_amount);
      return recordPaid(deps, state, payout, "settled", back);
    }
    case "panic": {
      // Most often: the opener submitted first, or reclaimed. Else a contract refusal to retry.
      const ended = await endedOnChain(deps, state, { ...payout, tx: undefined });
      if (ended) return ended;
      return retryLater(deps, id, payout, "contract", outcome.message, { state: "claimed", tx: undefined });
    }
    case "gas":
      return retryLater(deps, id, payout, "gas", outcome.message, {
        state: "claimed",
        tx: undefined,
        gas_tgas: Math.min(MAX_GAS_TGAS, (payout.tx?.gas_tgas ?? deps.gasTgas) * 2),
      });
    case "rejected":
      return retryLater(
        deps,
        id,
        payout,
        outcome.balance ? "operator_balance" : "rejected",
        outcome.message,
        {
          state: "claimed",
          tx: undefined,
        },
      );
    case "unavailable":
      return retryLater(deps, id, payout, "rpc", outcome.message);
  }
}

async function recordPaid(
  deps: WorkerDeps,
  state: ConversationState,
  payout: Payout,
  outcome: "settled" | "refunded",
  back: bigint,
): Promise<PassEntry> {
  const id = state.conversation_id;
  const operatorAmount = state.deposit - back;
  const { applied, payout: final } = await finalize(deps, id, (current) => ({
    ...(current ?? payout),
    state: outcome,
    refund_amount: back.toString(),
    operator_amount: operatorAmount.toString(),
    spent: state.spent.toString(),
    ...(outcome === "settled" && payout.tx ? { tx_hash: payout.tx.hash } : {}),
    tx: undefined,
    next_attempt_at: undefined,
    updated_at: deps.now(),
  }));
  if (applied) {
    countFinished(
      deps.metrics,
      outcome,
      outcome === "settled" ? { operator: operatorAmount, refunded: back } : {},
    );
    deps.logger.info(
      {
        conversation_id: id,
        outcome,
        refund_amount: back.toString(),
        operator_amount: operatorAmount.toString(),
        tx_hash: final?.tx_hash,
      },
      outcome === "settled" ? "settlement paid on chain" : "settlement: the opener's refund was paid first",
    );
  }
  return entryOf(id, final!);
}

/** Writes a final payout unless one is there; `applied` tells whether this call did it. */
async function finalize(
  deps: WorkerDeps,
  id: string,
  make: (current: Payout | undefined) => Payout | undefined,
): Promise<{ applied: boolean; payout: Payout | undefined }> {
  let applied = false;
  const payout = await deps.store.updatePayout(id, (current) => {
    if (current && ["settled", "refunded", "reclaimed", "skipped"].includes(current.state)) return undefined;
    const next = make(current);
    applied = next !== undefined;
    return next;
  });
  return { applied, payout };
}

async function retryLater(
  deps: WorkerDeps,
  id: string,
  payout: Payout,
  reason: string,
  message: string,
  changes: Partial<Payout> = {},
): Promise<PassEntry> {
  countFailure(deps.metrics, reason);
  const error = `${reason}: ${message}`;
  const stored = await deps.store.updatePayout(id, (current) =>
    // Only over the payout this try worked on: a concurrent worker's progress is kept.
    current && current.state === payout.state && current.tx?.hash === payout.tx?.hash
      ? failed(current, error, deps.rules, deps.now(), changes)
      : undefined,
  );
  deps.logger.warn(
    { conversation_id: id, reason, err: message, attempts: stored?.attempts },
    "settlement try failed",
  );
  return { conversation_id: id, action: "retry", reason: payout.reason, error };
}

function gone(id: string): PassEntry {
  return { conversation_id: id, action: "gone", error: "no longer in the ledger" };
}

function entryOf(id: string, payout: Payout): PassEntry {
  const action = (
    { settled: "settled", refunded: "refunded", reclaimed: "reclaimed", skipped: "skipped" } as const
  )[payout.state as "settled"];
  return {
    conversation_id: id,
    action: action ?? "retry",
    reason: payout.reason,
    ...(payout.refund_amount ? { refund_amount: payout.refund_amount } : {}),
    ...(payout.operator_amount ? { operator_amount: payout.operator_amount } : {}),
    ...(payout.tx_hash ? { tx_hash: payout.tx_hash } : {}),
    ...(action ? {} : { error: payout.last_error ?? `in progress (${payout.state})` }),
  };
}
