// The job worker (every proxy with jobs.worker): pulls jobs.concurrency jobs at a time from the one
// durable consumer, claims each by compare-and-set of its record, runs it through runChat billing
// its reservation, and holds it (heartbeats, record kept alive) until that reservation is settled.
// Explicit ack; a worker that dies is replaced by redelivery after ack_wait. Settle is idempotent, so
// however often a job is delivered it is billed once; the rules are billing.ts's.
import { setTimeout as sleep } from "node:timers/promises";
import type { Consumer, ConsumerMessages, JsMsg } from "nats";
import type { ProxyContext } from "../context.js";
import { ApiError, errorReply } from "../errors.js";
import { InflightTracker } from "../inflight.js";
import { priceOf } from "../metering/prices.js";
import { runChat } from "../relay/pipeline.js";
import { routesFor } from "../relay/routes.js";
import { readUsage } from "../relay/usage.js";
import type { Settlement } from "../store/types.js";
import { billedText, deliveryStep, graceMs, runCost, unrunCost } from "./billing.js";
import type { JobQueue } from "./queue.js";
import { nowSeconds, type RecordWriter } from "./records.js";
import { releaseJob, settlePending } from "./release.js";
import type { JobMessage, JobRecord } from "./types.js";

type RunOutcome = { completion: Record<string, unknown> } | { error: unknown };
const decoder = new TextDecoder();

export class JobWorker {
  #running = false;
  #fetching: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  readonly #active = new InflightTracker();

  constructor(
    private readonly ctx: ProxyContext,
    private readonly queue: JobQueue,
  ) {}

  /** Starts pulling jobs (jobs.concurrency at a time). */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const consumer = await this.queue.js.consumers.get(this.ctx.config.jobs.stream, this.queue.consumer);
    this.#loop = this.#pull(consumer);
  }

  /** Stops pulling and waits for running jobs (they keep their reservation until settled). */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#running = false;
    this.#fetching?.stop();
    await this.#loop?.catch(() => {});
    await this.#active.drain(timeoutMs);
  }

  async #pull(consumer: Consumer): Promise<void> {
    const limit = this.ctx.config.jobs.concurrency;
    while (this.#running) {
      if (this.#active.size >= limit) {
        await this.#active.oneSettled();
        continue;
      }
      try {
        this.#fetching = await consumer.fetch({ max_messages: limit - this.#active.size, expires: 1000 });
        for await (const m of this.#fetching) {
          void this.#active.track(this.#run(m));
        }
      } catch (e) {
        if (!this.#running) break;
        this.ctx.logger.warn({ err: (e as Error).message }, "job fetch failed; retrying");
        await sleep(500);
      } finally {
        this.#fetching = undefined;
      }
    }
  }

  async #run(m: JsMsg): Promise<void> {
    try {
      await this.#deliver(m);
    } catch (e) {
      // The jobs bucket or the ledger is unreachable: no ack, so the job comes back after ack_wait and
      // the next delivery resumes from the record (every step is compare-and-set or idempotent).
      this.ctx.logger.error({ err: (e as Error).message }, "job delivery failed; it will be redelivered");
    }
  }

  async #deliver(m: JsMsg): Promise<void> {
    const { ctx, queue } = this;
    const cfg = ctx.config.jobs;
    let job: JobMessage;
    try {
      job = JSON.parse(decoder.decode(m.data)) as JobMessage;
    } catch {
      m.term();
      return;
    }
    const attempt = m.info.redeliveryCount;
    for (let tries = 0; ; tries++) {
      const { record, revision } = await queue.records.read(job.job_id);
      const step = deliveryStep({
        record,
        attempt,
        maxAttempts: cfg.max_attempts,
        shuttingDown: ctx.shutdown.signal.aborted,
      });
      if (step === "requeue") return m.nak();
      if (step === "release") await releaseJob(ctx, job.job_id, "expired before any worker took it");
      if (step === "settle-pending" && record) await settlePending(ctx, queue.records, record);
      if (step === "abandon" && record) {
        const failure = new ApiError(
          502,
          `the job's worker stopped ${cfg.max_attempts} times`,
          "job_abandoned",
        );
        await this.#fail(queue.records.writer({ ...record, attempts: attempt }), failure, unrunCost(record));
      }
      if (step !== "claim" || !record) return m.ack();
      if (record.status === "running" && !(await this.#reservationOpen(record))) {
        await this.#reportResultLost(record, attempt);
        return m.ack();
      }
      const claimed: JobRecord = {
        ...record,
        status: "running",
        attempts: attempt,
        worker: ctx.instanceId,
        started_at: record.started_at ?? nowSeconds(),
      };
      if (await queue.records.cas(claimed, revision)) return this.#execute(m, job, record, claimed);
      if (tries >= 4) throw new Error(`job ${job.job_id}: its record keeps changing`);
    }
  }

  async #reservationOpen(record: JobRecord): Promise<boolean> {
    const open = await this.ctx.store.openReservations({ conversation_id: record.conversation_id });
    return open.some((r) => r.reservation_id === record.id);
  }

  /**
   * A previous worker's run settled but the worker stopped before storing the result: running it
   * again would call the upstream for free; report what was billed.
   */
  async #reportResultLost(record: JobRecord, attempt: number): Promise<void> {
    const settled = (await this.ctx.store.settlements(record.conversation_id)).find(
      (s) => s.reservation_id === record.id,
    );
    await this.queue.records.put({
      ...record,
      status: "failed",
      attempts: attempt,
      completed_at: nowSeconds(),
      error: errorReply(
        new ApiError(502, "the job ran but its worker stopped before storing the result", "job_result_lost"),
      ).body.error,
      billed: billedText(settled),
    });
  }

  /** Runs a claimed job, holding it (heartbeats, record kept alive) until its reservation is settled. */
  async #execute(m: JsMsg, job: JobMessage, before: JobRecord, claimed: JobRecord): Promise<void> {
    const cfg = this.ctx.config.jobs;
    const writer = this.queue.records.writer(claimed);
    const onRefreshError = (e: unknown) =>
      this.ctx.logger.warn({ err: (e as Error).message, job_id: job.job_id }, "job record refresh failed");
    // Heartbeat: the server redelivers only when this worker stops renewing (it died).
    const heartbeat = setInterval(
      () => {
        m.working();
        writer.refreshIfOlderThan(cfg.result_ttl_ms / 3, onRefreshError);
      },
      Math.max(200, Math.floor(Math.min(cfg.ack_wait_ms, cfg.result_ttl_ms) / 3)),
    );
    // The run's deadlines, cleared once it is held no longer (nothing waits on them then).
    const timers = new AbortController();
    const after = <T>(ms: number, value: T) => sleep(ms, value, { signal: timers.signal }).catch(() => value);
    try {
      const run: Promise<RunOutcome> = runChat(this.ctx, {
        conversationId: job.conversation_id,
        body: job.body,
        reservedAs: job.job_id,
        reservedAmount: BigInt(claimed.reserved),
      }).then(
        (result) => ({ completion: result.kind === "completion" ? result.body : {} }),
        (error: unknown) => ({ error }),
      );
      const outcome = await Promise.race([run, after(cfg.timeout_ms, "timeout" as const)]);
      if (outcome === "timeout") {
        const grace = this.#graceMs(claimed.model);
        await this.#finishTimedOut(writer, before, () => Promise.race([run, after(grace, "hung" as const)]));
        return m.ack();
      }
      if ("error" in outcome && outcome.error instanceof ApiError && outcome.error.code === "shutting_down") {
        // Nothing reached the upstream: back to queued, another worker takes it.
        await writer.replace(before);
        return m.nak();
      }
      await this.#finishRun(writer, before, outcome);
      m.ack();
    } finally {
      clearInterval(heartbeat);
      timers.abort();
    }
  }

  /** A run that ended within jobs.timeout_ms: succeeded, or failed (runChat settled when an upstream was tried). */
  async #finishRun(writer: RecordWriter, before: JobRecord, outcome: RunOutcome): Promise<void> {
    if ("error" in outcome) return this.#fail(writer, outcome.error, unrunCost(before));
    const settlement = await this.#settleRun(writer.record, outcome.completion);
    await writer.write({
      status: "succeeded",
      completed_at: nowSeconds(),
      completion: outcome.completion,
      usage: outcome.completion["usage"] ?? null,
      billed: billedText(settlement),
    });
    this.ctx.logger.info({ job_id: writer.record.id, attempt: writer.record.attempts }, "job succeeded");
  }

  /** Timed out: report it now; the run goes on and its own settlement bills the job (or, hung, its reservation). */
  async #finishTimedOut(
    writer: RecordWriter,
    before: JobRecord,
    late: () => Promise<RunOutcome | "hung">,
  ): Promise<void> {
    const { ctx } = this;
    const claimed = writer.record;
    await writer.write({
      status: "failed",
      completed_at: nowSeconds(),
      error: errorReply(
        new ApiError(504, `the job did not finish within ${ctx.config.jobs.timeout_ms} ms`, "job_timeout"),
      ).body.error,
    });
    ctx.logger.warn({ job_id: claimed.id, code: "job_timeout" }, "job failed");
    const outcome = await late();
    let settlement: Settlement | undefined;
    if (outcome === "hung") {
      settlement = await ctx.store.settle(claimed.id, BigInt(claimed.reserved));
      ctx.logger.error(
        { job_id: claimed.id, billed: billedText(settlement) },
        "a timed-out job's run did not settle within the upstream timeouts; billed its reservation",
      );
    } else if ("error" in outcome) {
      settlement = await ctx.store.settle(claimed.id, unrunCost(before)); // runChat settled it
    } else {
      settlement = await this.#settleRun(claimed, outcome.completion);
    }
    await writer.write({
      billed: billedText(settlement),
      ...(outcome !== "hung" && "completion" in outcome
        ? { usage: outcome.completion["usage"] ?? null }
        : {}),
    });
  }

  /**
   * The run's settlement. runChat has settled already (settle is idempotent, so this returns that
   * settlement); only if its store write failed does this settle, from the same usage by the same rule.
   */
  #settleRun(record: JobRecord, completion: Record<string, unknown>): Promise<Settlement | undefined> {
    const model = this.ctx.models.get(record.model);
    const cost = runCost(record, readUsage(completion["usage"]), model && priceOf(model));
    return this.ctx.store.settle(record.id, cost);
  }

  #graceMs(modelId: string): number {
    return graceMs(this.ctx.models.has(modelId) ? routesFor(this.ctx, modelId) : []);
  }

  /** Terminal failure (idempotent: a reservation the run settled keeps its charge). */
  async #fail(writer: RecordWriter, e: unknown, cost: bigint): Promise<void> {
    const settlement = await this.ctx.store.settle(writer.record.id, cost);
    const { body } = errorReply(e);
    await writer.write({
      status: "failed",
      completed_at: nowSeconds(),
      error: body.error,
      billed: billedText(settlement),
    });
    this.ctx.logger.warn({ job_id: writer.record.id, code: body.error.code }, "job failed");
  }
}
