// One settlement pass: read the work list, decide (policy.ts), and take each conversation due to a
// final payout (payout.ts, which says why a process killed anywhere neither loses a settlement nor
// submits one twice). A dry run reports what it would do and writes nothing.
import type { ConversationState } from "../store/types.js";
import { countFailure } from "./metrics.js";
import { settleOne, skip, type WorkerDeps } from "./payout.js";
import { type Decision, decide } from "./policy.js";
import type { PassEntry, PassReport } from "./types.js";

export type { WorkerDeps } from "./payout.js";

export interface PassOptions {
  dryRun?: boolean;
  /** Checked before each conversation: false stops the pass (the lease was lost). */
  stillLeader?: () => boolean;
}

export async function runPass(deps: WorkerDeps, options: PassOptions = {}): Promise<PassReport> {
  const started = deps.now();
  const report: PassReport = {
    started_at: started,
    finished_at: started,
    dry_run: options.dryRun ?? false,
    unsettled: 0,
    due: 0,
    entries: [],
  };
  let chainNowNs: bigint;
  try {
    chainNowNs = await deps.operator.chainTime();
  } catch (e) {
    countFailure(deps.metrics, "rpc");
    return finish(deps, report, `the NEAR RPC did not answer: ${(e as Error).message}`);
  }
  report.chain_time = chainNowNs.toString();
  const list = await deps.store.unsettledConversations();
  const clocks = { nowMs: started, chainNowNs };
  const decided = list.map((state) => ({ state, decision: decide(state, deps.rules, clocks) }));
  const due = decided
    .filter(
      (d): d is { state: ConversationState; decision: Exclude<Decision, { action: "wait" }> } =>
        d.decision.action !== "wait",
    )
    .sort((a, b) => (a.decision.urgency < b.decision.urgency ? -1 : 1));
  report.unsettled = list.length;
  report.due = due.length;
  if (!report.dry_run) publishLedgerGauges(deps, list, due.length);

  for (const { state, decision } of due.slice(0, deps.maxPerPass)) {
    if (report.dry_run) {
      report.entries.push(wouldDo(state, decision));
      continue;
    }
    if (options.stillLeader && !options.stillLeader())
      return finish(deps, report, "the settlement lease was lost");
    const entry =
      decision.action === "skip" ? await skip(deps, state) : await settleOne(deps, state, decision.reason);
    report.entries.push(entry);
    // The chain is not answering: the next conversations would only fail the same way.
    if (entry.action === "retry" && entry.error?.startsWith("rpc:")) return finish(deps, report, entry.error);
  }
  return finish(deps, report);
}

function finish(deps: WorkerDeps, report: PassReport, stopped?: string): PassReport {
  report.finished_at = deps.now();
  if (stopped) report.stopped = stopped;
  if (!report.dry_run) deps.metrics.passes.inc({ result: stopped ? "stopped" : "ok" });
  return report;
}

function publishLedgerGauges(deps: WorkerDeps, list: ConversationState[], due: number): void {
  const label = { contract: deps.contractId };
  const sum = (f: (s: ConversationState) => bigint) => Number(list.reduce((acc, s) => acc + f(s), 0n));
  deps.metrics.escrow.set(
    label,
    sum((s) => s.deposit),
  );
  deps.metrics.spent.set(
    label,
    sum((s) => s.spent),
  );
  deps.metrics.unsettled.set(label, list.length);
  deps.metrics.due.set(label, due);
  deps.metrics.submitted.set(label, list.filter((s) => s.payout?.state === "submitted").length);
}

function wouldDo(state: ConversationState, decision: Exclude<Decision, { action: "wait" }>): PassEntry {
  if (decision.action === "skip") return { conversation_id: state.conversation_id, action: "would_skip" };
  return {
    conversation_id: state.conversation_id,
    action: "would_settle",
    reason: decision.reason,
    // What it pays if no request is in flight (in-flight requests settle first and may add to spent).
    refund_amount: (state.deposit - state.spent).toString(),
    operator_amount: state.spent.toString(),
  };
}
