// Job billing edge cases, with in-process proxies on one nats-server (JetStream ledger + job queue):
// a submitter that runs no worker, and a worker started later. Restart recovery leaves queued jobs
// alone, a refund cancels queued jobs at 0 instead of billing them, a job whose record expired before
// any worker took it is released at 0, and a job that outlives jobs.timeout_ms is billed the upstream's
// usage (not 0) once its run settles. The tests share one job queue, so they run in order.
import test from "ava";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { JOB_RESERVATION_OWNER } from "#internal/proxy/jobs/service";
import type { JobView } from "#internal/proxy/jobs/types";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { type NatsServer, startNatsServer } from "./helpers/nats-server.js";
import { billFor } from "./helpers/provider-billing.js";
import { startTestProxy, type TestProxy } from "./helpers/proxy.js";

const TTL_MS = 2000;
const REFUND_WAIT_MS = 8000;
let server: NatsServer;
let upstream: MockUpstream;
/** Accepts jobs, runs none (jobs.worker false). */
let submitter: TestProxy;
/** Started by the expiry test; jobs.timeout_ms 1000. */
let worker: TestProxy | undefined;

const proxyFor = (instance: string, jobs: Record<string, unknown>) =>
  startTestProxy(upstream.url, {
    instance_id: instance,
    log_level: "warn",
    store: { type: "jetstream" },
    nats: { servers: [server.url] },
    jobs: { enabled: true, result_ttl_ms: TTL_MS, ack_wait_ms: 1000, ...jobs },
    metering: { refund_wait_ms: REFUND_WAIT_MS },
    retry: { max_retries: 0, timeout_ms: 5000, max_total_timeout_ms: 10_000 },
  });

test.before(async () => {
  server = await startNatsServer();
  upstream = await startMockUpstream({ reply: "the job answer" });
  submitter = await proxyFor("proxy-s", { worker: false });
});
test.after.always(async () => {
  await worker?.stop().catch(() => {});
  await submitter?.stop().catch(() => {});
  await upstream?.close();
  await server?.stop();
});

const ask = { model: "mock-model", messages: [{ role: "user", content: "hi" }], max_tokens: 20 };
/** What the mock bills for `ask` (its real token counts at the test prices). */
const BILL = billFor(ask, "the job answer");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function submit(tp: TestProxy, secret: string): Promise<JobView> {
  const res = await tp.fetch("/v1/jobs", { method: "POST", secret, body: JSON.stringify(ask) });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobView;
}
async function view(tp: TestProxy, secret: string, id: string): Promise<{ status: number; job?: JobView }> {
  const res = await tp.fetch(`/v1/jobs/${id}`, { secret });
  return res.status === 200 ? { status: 200, job: (await res.json()) as JobView } : { status: res.status };
}
async function ledger(tp: TestProxy, secret: string) {
  const store = tp.proxy.context.store;
  const cid = conversationIdFromSecret(secret);
  return {
    state: (await store.getConversation(cid))!,
    open: await store.openReservations({ conversation_id: cid }),
    settlements: await store.settlements(cid),
  };
}
async function refund(tp: TestProxy, secret: string): Promise<bigint> {
  const res = await tp.fetch("/v1/conversations/refund", { method: "POST", secret });
  if (res.status !== 200) throw new Error(`refund: ${res.status} ${await res.text()}`);
  const { refund_message } = (await res.json()) as { refund_message: string };
  return BigInt(JSON.parse(refund_message).refund_amount);
}
async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await what();
  while (!ok(v) && Date.now() < deadline) {
    await sleep(100);
    v = await what();
  }
  return v;
}

test.serial(
  "T14 jobs: restart recovery bills the instance's own stale reservation, not a still-queued job",
  async (t) => {
    const secret = submitter.open(10_000n);
    const job = await submit(submitter, secret);
    const cid = conversationIdFromSecret(secret);
    // A chat request this instance had in flight when it "crashed".
    const stale = await submitter.proxy.context.store.reserve({
      conversation_id: cid,
      reservation_id: "stale-chat-request",
      amount: 50n,
      owner: "proxy-s",
    });
    t.true(stale.ok);

    await submitter.stop();
    submitter = await proxyFor("proxy-s", { worker: false }); // same instance_id: startup recovery runs
    const after = await ledger(submitter, secret);
    t.is(after.state.spent, 50n, "only the stale chat reservation was billed");
    t.deepEqual(
      after.open.map((r) => [r.reservation_id, r.owner]),
      [[job.id, JOB_RESERVATION_OWNER]],
      "the queued job keeps its reservation for a worker",
    );
    // No worker ever ran it: the refund releases it at 0 and pays back all but the 50.
    t.is(await refund(submitter, secret), 10_000n - 50n);
    const end = await ledger(submitter, secret);
    t.is(end.open.length, 0);
    t.is(end.state.spent, 50n);
  },
);

test.serial(
  "T09 jobs: a refund cancels a queued job (released at 0, no wait for refund_wait_ms) and stays the same",
  async (t) => {
    const secret = submitter.open(10_000n);
    const job = await submit(submitter, secret);
    const before = await ledger(submitter, secret);
    t.true(before.state.reserved > 0n);
    t.deepEqual(
      before.open.map((r) => r.reservation_id),
      [job.id],
    );
    const started = Date.now();
    t.is(await refund(submitter, secret), 10_000n, "the never-run job costs nothing");
    // Waiting would take all of refund_wait_ms; anything shorter did not wait (half of it was too tight under load).
    t.true(Date.now() - started < REFUND_WAIT_MS, "did not wait for refund_wait_ms");
    const { job: cancelled } = await view(submitter, secret, job.id);
    t.is(cancelled?.status, "failed");
    t.is(cancelled?.error?.code, "job_cancelled");
    t.is(cancelled?.billed, "0");
    const end = await ledger(submitter, secret);
    t.is(end.state.spent, 0n);
    t.is(end.state.reserved, 0n);
    t.deepEqual(
      end.settlements.map((s) => [s.reservation_id, s.charged]),
      [[job.id, 0n]],
    );
    t.is(await refund(submitter, secret), 10_000n, "a second refund returns the same amount");
    // No spend after the refund: a new job is refused.
    const late = await submitter.fetch("/v1/jobs", { method: "POST", secret, body: JSON.stringify(ask) });
    t.is(late.status, 403);
  },
);

test.serial(
  "jobs: a queued job that expires before any worker takes it is billed 0 and its reservation released",
  async (t) => {
    const secret = submitter.open(10_000n);
    const job = await submit(submitter, secret);
    const held = (await ledger(submitter, secret)).state.reserved;
    t.true(held > 0n);
    // Nobody works on it until its record has expired.
    const gone = await until(
      () => view(submitter, secret, job.id),
      (v) => v.status === 404,
      TTL_MS + 10_000,
    );
    t.is(gone.status, 404);
    t.is((await ledger(submitter, secret)).state.reserved, held, "still held while nobody looked");

    // A worker comes up, takes the expired job from the queue and releases it without running it.
    const requestsBefore = upstream.requests.length;
    worker = await proxyFor("proxy-w", { worker: true, timeout_ms: 1000 });
    const end = await until(
      () => ledger(submitter, secret),
      // ledger() reads the conversation before its reservations (two reads, not one snapshot), so
      // wait for both: one read may land between the worker's release writes.
      (l) => l.open.length === 0 && l.state.reserved === 0n,
      10_000,
    );
    t.is(end.open.length, 0);
    t.is(end.state.reserved, 0n);
    t.is(end.state.spent, 0n);
    t.deepEqual(
      end.settlements.map((s) => [s.reservation_id, s.charged]),
      [[job.id, 0n]],
    );
    t.is(upstream.requests.length, requestsBefore, "the expired job never reached the upstream");
    t.is(await refund(submitter, secret), 10_000n, "the refund pays back everything");
  },
);

test.serial(
  "jobs: a job that outlives jobs.timeout_ms is reported failed (job_timeout) and billed the upstream's usage",
  async (t) => {
    t.truthy(worker, "started by the previous test");
    const secret = submitter.open(10_000n);
    upstream.faults.push({ delayMs: 2500 }); // answers after the job's 1000 ms timeout
    const job = await submit(submitter, secret);
    let sawPending = false;
    const done = await until(
      async () => (await view(submitter, secret, job.id)).job,
      (v) => {
        if (v?.status === "failed" && v.billed === null) sawPending = true;
        return v?.status === "failed" && v.billed !== null;
      },
      15_000,
    );
    t.is(done?.status, "failed");
    t.is(done?.error?.code, "job_timeout");
    t.true(sawPending, "reported failed at the timeout, before the run settled");
    t.is(done?.billed, BILL.toString(), "from the late answer's usage");
    t.deepEqual(done?.usage, { ...upstream.billed.at(-1)!, cost: BILL.toString() });
    const end = await ledger(submitter, secret);
    t.is(end.state.spent, BILL);
    t.is(end.state.reserved, 0n);
    t.is(end.open.length, 0);
    t.deepEqual(
      end.settlements.map((s) => [s.reservation_id, s.charged]),
      [[job.id, BILL]],
    );
    t.is(await refund(submitter, secret), 10_000n - BILL);
  },
);

test("jobs config: result_ttl_ms must outlive ack_wait_ms (a redelivered job must still find its record)", async (t) => {
  const { parseConfig, ConfigError } = await import("#internal/proxy/config");
  const err = t.throws(() => parseConfig({ jobs: { result_ttl_ms: 10_000, ack_wait_ms: 30_000 } }), {
    instanceOf: ConfigError,
  });
  t.regex(String(err?.message), /result_ttl_ms must be longer than jobs\.ack_wait_ms/);
  t.notThrows(() => parseConfig({ jobs: { result_ttl_ms: 60_000, ack_wait_ms: 30_000 } }));
});
