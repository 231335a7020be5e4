// The job billing rules, as pure decisions (the queue, the worker and the refund hook do the I/O).
// Every job reservation ends settled, at the right amount:
// - A worker CLAIMS a job by compare-and-set of its record, queued -> running (setting started_at).
//   Whoever else wants to end a queued job (the refund's release hook) uses compare-and-set too, so a
//   job is either started or cancelled, never both. A job that never started is released at 0:
//   expired before any worker took it (its record is gone; the queue keeps messages twice the record
//   TTL so a worker still sees it and releases it), cancelled by a refund, or abandoned without a run.
// - A run bills what runChat settles: the upstream's usage (no usage: the reservation), 0 when no
//   upstream answered. A run that outlives jobs.timeout_ms is reported failed (`job_timeout`) at once,
//   but its worker keeps the job (heartbeats) until the run settles by itself and then records
//   `billed`; past a grace bounded by the upstream timeouts (graceMs) the run is taken as hung and the
//   reservation is billed, so it never stays open.
// - A worker that died mid-run leaves the reservation open under the job owner (no instance's startup
//   recovery touches it); the job is redelivered and the next run's settlement bills it once. If no
//   further run answers (max_attempts deliveries, or the conversation was closed meanwhile), the
//   reservation is billed in full: the upstream may have produced output (the T10/T14 rule).
import { costOf, type Price } from "../metering/prices.js";
import type { Settlement } from "../store/types.js";
import type { Usage } from "../upstreams/types.js";
import { isTerminal, type JobRecord } from "./types.js";

/** What ending a job WITHOUT a (new) run costs: 0 unless an earlier worker started it and died. */
export const unrunCost = (r: JobRecord): bigint => (r.started_at !== undefined ? BigInt(r.reserved) : 0n);

/** The record's `billed`: what the settlement charged ("0" when nothing was settled). */
export const billedText = (s: Settlement | undefined): string => (s ? s.charged.toString() : "0");

/** What a run that answered costs: its usage at the model's price; without usage (or price), the reservation. */
export function runCost(record: JobRecord, usage: Usage | undefined, price: Price | undefined): bigint {
  return usage && price
    ? costOf(price, usage.prompt_tokens, usage.completion_tokens)
    : BigInt(record.reserved);
}

/**
 * What a worker does with a delivery, before any run:
 * `release` the record expired while queued: it never started, release at 0, ack;
 * `ack` it finished before (only the ack was lost); `settle-pending` it finished but its worker died
 * before settling: settle at unrunCost, ack; `abandon` its workers kept dying: fail it at unrunCost;
 * `requeue` this proxy is shutting down: nak; `claim` run it (if a previous worker's run already
 * settled, the caller reports the result lost instead of calling the upstream again).
 */
export type DeliveryStep = "release" | "ack" | "settle-pending" | "abandon" | "requeue" | "claim";

export function deliveryStep(input: {
  record: JobRecord | undefined;
  /** Deliveries so far, this one included (JetStream's redeliveryCount). */
  attempt: number;
  maxAttempts: number;
  shuttingDown: boolean;
}): DeliveryStep {
  const { record } = input;
  if (!record) return "release";
  if (isTerminal(record.status)) return record.billed === undefined ? "settle-pending" : "ack";
  if (input.attempt > input.maxAttempts) return "abandon";
  if (input.shuttingDown) return "requeue";
  return "claim";
}

/**
 * What the refund's release hook does with one open job reservation: `release` its record expired
 * unclaimed (at 0); `leave` it is running (the refund waits for its settlement); `settle-pending` a
 * terminal, never-started record whose settlement is missing; `done` terminal otherwise; `cancel`
 * it is queued: compare-and-set it to failed `job_cancelled`, settling at unrunCost.
 */
export type CancelStep = "release" | "leave" | "settle-pending" | "done" | "cancel";

export function cancelStep(record: JobRecord | undefined): CancelStep {
  if (!record) return "release";
  if (record.status === "running") return "leave";
  if (isTerminal(record.status))
    return record.billed === undefined && record.started_at === undefined ? "settle-pending" : "done";
  return "cancel";
}

/**
 * How long a timed-out run may still settle by itself. Per provider of the model, routing/retry.ts
 * gives up after retry.max_total_timeout_ms (each attempt waits at most retry.timeout_ms for the
 * answer's headers); a non-streaming body has no timeout of its own (only the proxy's shutdown aborts
 * it), so one more retry.timeout_ms per provider stands for it. Jobs never stream, so the stream idle
 * timeout (relay/stream.ts) does not apply. +5 s for the store.
 */
export function graceMs(routes: readonly { retry: { max_total_timeout_ms: number; timeout_ms: number } }[]) {
  return routes.reduce((sum, r) => sum + r.retry.max_total_timeout_ms + r.retry.timeout_ms, 5_000);
}
