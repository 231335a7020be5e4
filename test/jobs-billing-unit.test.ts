// The job billing rules (proxy/src/jobs/billing.ts) without NATS: what a delivery, a refund's release
// hook and a finished run cost, for every state a job record can be in.
import test from "ava";
import {
  billedText,
  cancelStep,
  deliveryStep,
  graceMs,
  runCost,
  unrunCost,
} from "#internal/proxy/jobs/billing";
import type { JobRecord, JobStatus } from "#internal/proxy/jobs/types";

const record = (status: JobStatus, extra: Partial<JobRecord> = {}): JobRecord => ({
  id: "job_0123456789abcdef0123456789abcdef",
  conversation_id: "c".repeat(64),
  model: "m",
  status,
  created_at: 1,
  updated_at: 1,
  attempts: 0,
  reserved: "4018",
  ...extra,
});

test("a job that never started costs nothing to end; one an earlier worker started costs its reservation", (t) => {
  t.is(unrunCost(record("queued")), 0n);
  t.is(unrunCost(record("failed")), 0n);
  t.is(
    unrunCost(record("queued", { started_at: 5 })),
    4018n,
    "a worker died mid-run: the upstream may have answered",
  );
  t.is(unrunCost(record("running", { started_at: 5 })), 4018n);
});

test("delivery: released without a record, acked or settled when terminal, abandoned past max_attempts, requeued on shutdown", (t) => {
  const step = (r: JobRecord | undefined, attempt = 1, shuttingDown = false) =>
    deliveryStep({ record: r, attempt, maxAttempts: 3, shuttingDown });
  t.is(step(undefined), "release", "the record expired while queued: it never started");
  t.is(step(undefined, 9, true), "release", "even past max_attempts or on shutdown");
  t.is(step(record("succeeded", { billed: "12" })), "ack", "only the ack was lost");
  t.is(step(record("failed", { billed: "0" }), 9), "ack");
  t.is(step(record("failed")), "settle-pending", "terminal without billed: its worker died before settling");
  t.is(step(record("queued"), 4), "abandon");
  t.is(
    step(record("running", { started_at: 2 }), 4, true),
    "abandon",
    "abandon comes before a shutdown requeue",
  );
  t.is(step(record("queued"), 3), "claim", "the max_attempts-th delivery still runs");
  t.is(step(record("queued"), 1, true), "requeue");
  t.is(step(record("running", { started_at: 2 }), 2), "claim", "redelivered after its worker died");
});

test("refund release hook: cancels queued jobs, leaves running ones, settles a pending unstarted one", (t) => {
  t.is(cancelStep(undefined), "release");
  t.is(cancelStep(record("queued")), "cancel");
  t.is(
    cancelStep(record("queued", { started_at: 3 })),
    "cancel",
    "re-queued after a dead worker (billed by unrunCost)",
  );
  t.is(cancelStep(record("running")), "leave", "the refund waits for its settlement");
  t.is(cancelStep(record("failed")), "settle-pending");
  t.is(cancelStep(record("failed", { started_at: 3 })), "done", "a started one is its worker's to settle");
  t.is(cancelStep(record("succeeded", { billed: "7" })), "done");
});

test("a run's cost is its usage at the model's price, rounded up; without usage or price, the reservation", (t) => {
  const price = { input_per_million: 1_000_000n, output_per_million: 2_500_000n };
  t.is(runCost(record("running"), { prompt_tokens: 3, completion_tokens: 3 }, price), 11n, "3 + 7.5 → 11");
  t.is(runCost(record("running"), { prompt_tokens: 0, completion_tokens: 0 }, price), 0n);
  t.is(runCost(record("running"), undefined, price), 4018n);
  t.is(runCost(record("running"), { prompt_tokens: 3, completion_tokens: 3 }, undefined), 4018n);
});

test("billed text and the hung-run grace", (t) => {
  t.is(billedText(undefined), "0");
  t.is(billedText({ reservation_id: "r", conversation_id: "c", reserved: 9n, charged: 7n } as never), "7");
  t.is(graceMs([]), 5_000);
  const retry = { max_total_timeout_ms: 10_000, timeout_ms: 2_000 };
  t.is(graceMs([{ retry }, { retry }]), 5_000 + 2 * 12_000, "every provider of the model may be tried");
});
