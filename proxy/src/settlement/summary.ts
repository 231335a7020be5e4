// GET /v1/operator/summary's body: the ledger's unsettled conversations added up exactly (BigInt,
// base-10 strings), what this process's settlement did since it started, who leads, the last pass.
// Pure over what the caller read.
import type { ConversationState, InstanceLease } from "../store/types.js";
import type { Tally } from "./metrics.js";
import { type Clocks, decide, type SettleRules, settleAt } from "./policy.js";
import type { PassReport } from "./types.js";

export interface SummaryInput {
  contractId: string;
  instanceId: string;
  unsettled: ConversationState[];
  rules: SettleRules;
  clocks: Clocks;
  settlement: { active: boolean; inactiveReason?: string; operator?: string; intervalMs: number };
  leader: InstanceLease | undefined;
  thisHolder: string;
  tally: Tally;
  lastPass: PassReport | undefined;
}

const FAILING_SHOWN = 20;

export function summarize(input: SummaryInput) {
  const sum = (f: (s: ConversationState) => bigint) =>
    input.unsettled.reduce((a, s) => a + f(s), 0n).toString();
  let dueNow = 0;
  let next: bigint | undefined;
  const inProgress = { claimed: 0, submitted: 0 };
  const failing: {
    conversation_id: string;
    attempts: number;
    last_error?: string;
    next_attempt_at?: number;
  }[] = [];
  for (const s of input.unsettled) {
    if (decide(s, input.rules, input.clocks).action !== "wait") dueNow++;
    const at = settleAt(s, input.rules)?.at;
    if (at !== undefined && (next === undefined || at < next)) next = at;
    const p = s.payout;
    if (p?.state === "claimed" || p?.state === "submitted") inProgress[p.state]++;
    if (p && p.attempts > 0)
      failing.push({
        conversation_id: s.conversation_id,
        attempts: p.attempts,
        ...(p.last_error ? { last_error: p.last_error } : {}),
        ...(p.next_attempt_at !== undefined ? { next_attempt_at: p.next_attempt_at } : {}),
      });
  }
  failing.sort((a, b) => b.attempts - a.attempts);
  const t = input.tally;
  return {
    contract_id: input.contractId,
    instance_id: input.instanceId,
    settlement: {
      active: input.settlement.active,
      ...(input.settlement.inactiveReason ? { inactive_reason: input.settlement.inactiveReason } : {}),
      ...(input.settlement.operator ? { operator_account_id: input.settlement.operator } : {}),
      rules: {
        idle_after_ms: input.rules.idleAfterMs,
        before_expiry_ms: input.rules.beforeExpiryMs,
        min_spent: input.rules.minSpent.toString(),
        interval_ms: input.settlement.intervalMs,
      },
      leader: input.leader
        ? {
            instance_id: input.leader.instance_id ?? null,
            host: input.leader.host,
            pid: input.leader.pid,
            expires_at: input.leader.expires_at,
            this_process: input.leader.nonce === input.thisHolder,
          }
        : null,
      last_pass: input.lastPass ? passSummary(input.lastPass) : null,
    },
    unsettled: {
      conversations: input.unsettled.length,
      escrow: sum((s) => s.deposit),
      spent: sum((s) => s.spent),
      reserved: sum((s) => s.reserved),
      /** What their openers get back if settled now. */
      refund_due: sum((s) => s.deposit - s.spent),
      due_now: dueNow,
      in_progress: inProgress,
      /** ns: the earliest time a conversation becomes due (the idle rule on the proxy's clock). */
      next_settle_at: next?.toString() ?? null,
      failing: failing.length,
      failing_first: failing.slice(0, FAILING_SHOWN),
    },
    this_process: {
      conversations: { ...t.finished },
      operator_amount: t.operator_amount.toString(),
      refund_amount: t.refund_amount.toString(),
      lost_amount: t.lost_amount.toString(),
      failures: { ...t.failures },
    },
  };
}

export function passSummary(report: PassReport) {
  const actions: Record<string, number> = {};
  for (const e of report.entries) actions[e.action] = (actions[e.action] ?? 0) + 1;
  return {
    started_at: report.started_at,
    finished_at: report.finished_at,
    dry_run: report.dry_run,
    unsettled: report.unsettled,
    due: report.due,
    actions,
    ...(report.stopped ? { stopped: report.stopped } : {}),
  };
}
