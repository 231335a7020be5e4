// Prometheus series of operator settlement, on the proxy's registry. Counters count what this
// process did (sum them over replicas: only the leader settles). The ledger gauges describe the whole
// ledger and are published by the leader alone, labelled with the contract, and dropped when a
// process stops leading, so a sum over replicas is exact. Amounts are token base units as floats,
// for dashboards only: the ledger and /v1/operator/summary are exact.
import { Counter, Gauge, type Registry } from "prom-client";

export interface SettlementMetrics {
  /** Conversations whose payout this process finished, by outcome (settled, refunded, reclaimed, skipped). */
  finished: Counter<"outcome">;
  /** Token units paid to the operator by this process's settlements. */
  operatorUnits: Counter;
  /** Token units returned to openers by this process's settlements. */
  refundedUnits: Counter;
  /** What was spent on conversations the opener reclaimed after expiry: revenue lost. */
  lostUnits: Counter;
  /** Failed tries, by reason (rpc, gas, rejected, operator_balance, contract, mismatch, not_found). */
  failures: Counter<"reason">;
  passes: Counter<"result">;
  /** 1 while this process holds the settlement lease. */
  leader: Gauge;
  escrow: Gauge<"contract">;
  spent: Gauge<"contract">;
  unsettled: Gauge<"contract">;
  due: Gauge<"contract">;
  /** Conversations with a signed transaction on its way. */
  submitted: Gauge<"contract">;
  /** The counters' exact twins (BigInt token units), for /v1/operator/summary. */
  tally: Tally;
}

export type Outcome = "settled" | "refunded" | "reclaimed" | "skipped";

export interface Tally {
  finished: Record<Outcome, number>;
  operator_amount: bigint;
  refund_amount: bigint;
  lost_amount: bigint;
  failures: Record<string, number>;
}

export function createSettlementMetrics(registry: Registry): SettlementMetrics {
  const registers = [registry];
  const gauge = (name: string, help: string) =>
    new Gauge({ name: `aiproxy_settlement_${name}`, help, labelNames: ["contract"] as const, registers });
  return {
    finished: new Counter({
      name: "aiproxy_settlement_conversations_total",
      help: "Conversations this process finished settling, by outcome: settled (by the operator), refunded (by the opener), reclaimed (by the opener after expiry: lost revenue), skipped (below settle.min_spent)",
      labelNames: ["outcome"],
      registers,
    }),
    operatorUnits: new Counter({
      name: "aiproxy_settlement_operator_token_units_total",
      help: "Token units paid to the operator by this process's settlements",
      registers,
    }),
    refundedUnits: new Counter({
      name: "aiproxy_settlement_refunded_token_units_total",
      help: "Token units returned to openers by this process's settlements",
      registers,
    }),
    lostUnits: new Counter({
      name: "aiproxy_settlement_lost_token_units_total",
      help: "Token units spent on conversations their opener reclaimed after expiry (revenue lost)",
      registers,
    }),
    failures: new Counter({
      name: "aiproxy_settlement_failures_total",
      help: "Failed settlement tries by reason (rpc, gas, rejected, operator_balance, contract, mismatch, not_found)",
      labelNames: ["reason"],
      registers,
    }),
    passes: new Counter({
      name: "aiproxy_settlement_passes_total",
      help: "Settlement passes run by this process, by result (ok, stopped)",
      labelNames: ["result"],
      registers,
    }),
    leader: new Gauge({
      name: "aiproxy_settlement_leader",
      help: "1 while this process is the settlement leader",
      registers,
    }),
    escrow: gauge("escrow_token_units", "Escrow under management: deposits of conversations not yet settled"),
    spent: gauge(
      "spent_token_units",
      "Spent on conversations not yet settled: the operator's revenue at stake",
    ),
    unsettled: gauge("unsettled_conversations", "Conversations not yet settled on chain"),
    due: gauge("due_conversations", "Unsettled conversations the last pass found due"),
    submitted: gauge("submitted_conversations", "Conversations with a settlement transaction on its way"),
    tally: {
      finished: { settled: 0, refunded: 0, reclaimed: 0, skipped: 0 },
      operator_amount: 0n,
      refund_amount: 0n,
      lost_amount: 0n,
      failures: {},
    },
  };
}

/** A payout this process made final. `operator`/`refunded`: what its settlement paid; `lost`: a reclaim. */
export function countFinished(
  m: SettlementMetrics,
  outcome: Outcome,
  amounts: { operator?: bigint; refunded?: bigint; lost?: bigint } = {},
): void {
  m.finished.inc({ outcome });
  m.tally.finished[outcome]++;
  if (amounts.operator !== undefined) {
    m.operatorUnits.inc(Number(amounts.operator));
    m.tally.operator_amount += amounts.operator;
  }
  if (amounts.refunded !== undefined) {
    m.refundedUnits.inc(Number(amounts.refunded));
    m.tally.refund_amount += amounts.refunded;
  }
  if (amounts.lost !== undefined) {
    m.lostUnits.inc(Number(amounts.lost));
    m.tally.lost_amount += amounts.lost;
  }
}

export function countFailure(m: SettlementMetrics, reason: string): void {
  m.failures.inc({ reason });
  m.tally.failures[reason] = (m.tally.failures[reason] ?? 0) + 1;
}

/** The ledger gauges are the leader's to publish; a follower shows none. */
export function dropLedgerGauges(m: SettlementMetrics): void {
  for (const g of [m.escrow, m.spent, m.unsettled, m.due, m.submitted]) g.reset();
}
