// Async jobs in one process (the worker-kill case with two processes is in nats-scale.test.ts):
// submit + poll with the client helper, billed once under the job id, the NATS job subjects,
// reservation at submit, and expiry -> 404 in OpenAI's error shape.
import test from "ava";
import { connect, type NatsConnection } from "nats";
import { getJob, JobApiError, runJob, submitJob, waitForJob } from "#internal/proxy/jobs/client";
import { natsRequest } from "#internal/proxy/nats/client";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { type NatsServer, startNatsServer } from "./helpers/nats-server.js";
import { billFor } from "./helpers/provider-billing.js";
import { balance, startTestProxy, type TestProxy } from "./helpers/proxy.js";

let server: NatsServer;
let upstream: MockUpstream;
let tp: TestProxy;
let nc: NatsConnection;
const TTL_MS = 1500;

test.before(async () => {
  server = await startNatsServer();
  upstream = await startMockUpstream({ reply: "the job answer" });
  tp = await startTestProxy(upstream.url, {
    store: { type: "jetstream" },
    nats: { servers: [server.url] },
    jobs: { enabled: true, result_ttl_ms: TTL_MS, ack_wait_ms: 1000 },
  });
  nc = await connect({ servers: server.url });
});
test.after.always(async () => {
  await nc?.close().catch(() => {});
  await tp?.stop().catch(() => {});
  await upstream?.close();
  await server?.stop();
});

const ask = { model: "mock-model", messages: [{ role: "user", content: "hi" }], max_tokens: 20 };
/** What the mock bills for `ask` (its real token counts at the test prices). */
const BILL = billFor(ask, "the job answer");
const opts = (secret: string) => ({ baseUrl: tp.proxy.url, secret });

test("jobs: POST /v1/jobs returns a job id at once; polling returns the completion, billed once under the job id", async (t) => {
  const secret = tp.open(10_000n);
  const submitted = await submitJob(opts(secret), ask);
  t.regex(submitted.id, /^job_[0-9a-f]{32}$/);
  t.is(submitted.status, "queued");
  const done = await waitForJob(opts(secret), submitted.id, { initialDelayMs: 20 });
  t.is(done.status, "succeeded");
  t.is(
    (done.completion as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content,
    "the job answer",
  );
  t.deepEqual(done.usage, { ...upstream.billed.at(-1)!, cost: BILL.toString() });
  t.is(done.billed, BILL.toString());
  const b = await balance(tp, secret);
  t.is(b.spent, BILL.toString());
  t.is(b.reserved, "0");
  const settled = await tp.proxy.context.store.settlements(
    (await import("#internal/proxy/auth")).conversationIdFromSecret(secret),
  );
  t.deepEqual(
    settled.map((s) => [s.reservation_id, s.charged]),
    [[submitted.id, BILL]],
  );
});

test("jobs: another conversation's secret cannot read a job (404, not 403)", async (t) => {
  const secret = tp.open(10_000n);
  const other = tp.open(10_000n);
  const job = await runJob(opts(secret), ask, { initialDelayMs: 20 });
  const e = await t.throwsAsync(getJob(opts(other), job.id), { instanceOf: JobApiError });
  t.is(e.status, 404);
  t.is(e.code, "job_not_found");
});

test("T08 jobs reserve at submit: queued jobs can never overspend the conversation", async (t) => {
  // Each job reserves (estimate + 20) x prices; the deposit pays for two of them.
  const secret = tp.open(200n);
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => submitJob(opts(secret), ask)));
  const accepted = results.filter((r) => r.status === "fulfilled").length;
  const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as JobApiError] : []));
  t.true(accepted >= 1 && accepted <= 4, `accepted ${accepted}`);
  t.true(refused.every((e) => e.status === 402));
  for (const r of results)
    if (r.status === "fulfilled") await waitForJob(opts(secret), r.value.id, { initialDelayMs: 20 });
  const b = await balance(tp, secret);
  t.true(BigInt(b.spent) <= 200n);
  t.is(b.reserved, "0");
  t.is(BigInt(b.spent), BigInt(accepted) * BILL);
});

test("jobs over NATS: <prefix>.jobs.submit and <prefix>.jobs.get", async (t) => {
  const secret = tp.open(10_000n);
  const submitted = await natsRequest(nc, "aiproxy.jobs.submit", secret, ask);
  t.is(submitted.status, 202);
  const id = (submitted.body as { id: string }).id;
  let view: { status: string } = { status: "queued" };
  for (let i = 0; i < 100 && view.status !== "succeeded"; i++) {
    await new Promise((r) => setTimeout(r, 30));
    const r = await natsRequest(nc, "aiproxy.jobs.get", secret, id);
    t.is(r.status, 200);
    view = r.body as { status: string };
  }
  t.is(view.status, "succeeded");
  const unknown = await natsRequest(nc, "aiproxy.jobs.get", secret, "job_nope");
  t.is(unknown.status, 404);
});

test("jobs: an expired job returns 404 in OpenAI's error shape with a clear message", async (t) => {
  const secret = tp.open(10_000n);
  const job = await runJob(opts(secret), ask, { initialDelayMs: 20 });
  t.is(job.status, "succeeded");
  const deadline = Date.now() + TTL_MS + 10_000;
  let res: Response | undefined;
  while (Date.now() < deadline) {
    res = await tp.fetch(`/v1/jobs/${job.id}`, { secret });
    if (res.status === 404) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.is(res!.status, 404);
  const body = (await res!.json()) as {
    error: { message: string; type: string; code: string; param: string };
  };
  t.is(body.error.type, "not_found_error");
  t.is(body.error.code, "job_not_found");
  t.regex(body.error.message, /expired/);
  t.regex(body.error.message, new RegExp(job.id));
});

test("jobs: bad requests fail at submit with the chat errors, nothing queued or reserved", async (t) => {
  const secret = tp.open(10_000n);
  const noAuth = await tp.fetch("/v1/jobs", { method: "POST", body: JSON.stringify(ask) });
  t.is(noAuth.status, 401);
  const badModel = await tp.fetch("/v1/jobs", {
    method: "POST",
    secret,
    body: JSON.stringify({ ...ask, model: "nope" }),
  });
  t.is(badModel.status, 404);
  t.is(((await badModel.json()) as { error: { code: string } }).error.code, "model_not_found");
  const b = await balance(tp, secret);
  t.is(b.reserved, "0");
});
