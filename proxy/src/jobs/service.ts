// Async chat jobs. Submit checks the request like a chat call, stores a job record (KV bucket with a
// TTL), then RESERVES its cost with the job id as the reservation id (queued jobs can never overspend a
// conversation) and queues the job on a JetStream work-queue stream. Workers (every proxy with
// jobs.worker) pull from one durable consumer: explicit ack, heartbeats while running, redelivery after
// ack_wait when a worker dies. A worker runs the chat through runChat billing that reservation;
// settle is idempotent, so however often a job is delivered it is billed once.
//
// Billing rules (every job reservation ends settled, at the right amount):
// - A worker CLAIMS a job by compare-and-set of its record, queued -> running (setting started_at).
//   Whoever else wants to end a queued job (the refund's release hook) uses compare-and-set too, so a
//   job is either started or cancelled, never both. A job that never started is released at 0:
//   expired before any worker took it (its record is gone; the queue keeps messages twice the record
//   TTL so a worker still sees it and releases it), cancelled by a refund, or abandoned without a run.
// - A run bills what runChat settles: the upstream's usage (no usage: the reservation), 0 when
//   no upstream answered. A run that outlives jobs.timeout_ms is reported failed (`job_timeout`) at
//   once, but its worker keeps the job (heartbeats) until the run settles by itself and then records
//   `billed`; past a grace bounded by the upstream timeouts (#graceMs) the run is taken as hung and the
//   reservation is billed, so it never stays open.
// - A worker that died mid-run leaves the reservation open under the job owner (no instance's startup
//   recovery touches it); the job is redelivered and the next run's settlement bills it once. If no
//   further run answers (max_attempts deliveries, or the conversation was closed meanwhile), the
//   reservation is billed in full: the upstream may have produced output (the T10/T14 rule).
import { randomUUID } from "node:crypto";
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
  type KV,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
} from "nats";
import type { ProxyContext } from "../context.js";
import { ApiError, errors } from "../errors.js";
import { costOf, priceOf } from "../metering/prices.js";
import { errorReply, subjectsFor } from "../nats/framing.js";
import { setRefundReleaseHook } from "../refunds/refund.js";
import { forwardable, prepare, reserve } from "../relay/admission.js";
import { runChat } from "../relay/pipeline.js";
import { parseChatRequest } from "../relay/request.js";
import { routesFor } from "../relay/routes.js";
import { readUsage } from "../relay/usage.js";
import type { Reservation, Settlement } from "../store/types.js";
import {
  isTerminal,
  JOB_RESERVATION_OWNER,
  type JobMessage,
  type JobRecord,
  type JobView,
  toView,
} from "./types.js";

export { JOB_RESERVATION_OWNER } from "./types.js";

const JOB_ID = /^job_[0-9a-f]{32}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const now = () => Math.floor(Date.now() / 1000);
const billed = (s: Settlement | undefined) => (s ? s.charged.toString() : "0");
/** What ending a job WITHOUT a (new) run costs: 0 unless an earlier worker started it and died. */
const unrunCost = (r: JobRecord) => (r.started_at !== undefined ? BigInt(r.reserved) : 0n);
type RunOutcome = { completion: Record<string, unknown> } | { error: unknown };

/**
 * Writes one job's record in order (puts never overtake each other) and keeps it alive while its
 * worker holds the job: a record only expires (KV TTL) when nobody works on the job, so "no record"
 * means "never started" (or finished long ago).
 */
class RecordWriter {
  #chain: Promise<unknown> = Promise.resolve();
  #lastWrite = Date.now();
  #refreshing = false;
  constructor(
    private readonly kv: KV,
    public record: JobRecord,
  ) {}

  write(patch: Partial<JobRecord> = {}): Promise<void> {
    return this.replace({ ...this.record, ...patch });
  }

  replace(record: JobRecord): Promise<void> {
    this.record = record;
    const snapshot = encoder.encode(JSON.stringify({ ...this.record, updated_at: now() }));
    const p = this.#chain.then(() => this.kv.put(this.record.id, snapshot));
    this.#chain = p.then(
      () => {
        this.#lastWrite = Date.now();
      },
      () => {},
    );
    return p.then(() => {});
  }

  refreshIfOlderThan(ms: number, onError: (e: unknown) => void): void {
    if (this.#refreshing || Date.now() - this.#lastWrite < ms) return;
    this.#refreshing = true;
    this.write()
      .catch(onError)
      .finally(() => {
        this.#refreshing = false;
      });
  }
}

export class JobService {
  readonly #ctx: ProxyContext;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #kv: KV;
  readonly #consumerName: string;
  #running = false;
  #fetching: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  readonly #active = new Set<Promise<void>>();

  private constructor(ctx: ProxyContext, nc: NatsConnection, kv: KV, consumerName: string) {
    this.#ctx = ctx;
    this.#nc = nc;
    this.#js = nc.jetstream();
    this.#kv = kv;
    this.#consumerName = consumerName;
  }

  /** Creates (or reuses) the work-queue stream, its durable consumer and the results bucket. */
  static async open(ctx: ProxyContext, nc: NatsConnection): Promise<JobService> {
    const cfg = ctx.config.jobs;
    const subject = subjectsFor(ctx.config.nats.subject_prefix).jobRun;
    const jsm = await nc.jetstreamManager();
    const stream = {
      name: cfg.stream,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      // A job nobody started within the result TTL has no record left; its message is kept another
      // TTL (at least a minute) so a worker still takes it and releases its reservation at 0 (see
      // #deliver). Past that, only a refund of the conversation releases it (releaseUnstarted).
      max_age: nanos(cfg.result_ttl_ms + Math.max(cfg.result_ttl_ms, 60_000)),
      duplicate_window: nanos(Math.min(cfg.result_ttl_ms, 120_000)),
    };
    const info = await jsm.streams.info(cfg.stream).catch(() => undefined);
    if (!info) {
      await jsm.streams.add(stream).catch(async (e) => {
        // Another proxy created it between our check and add.
        await jsm.streams.info(cfg.stream).catch(() => {
          throw e;
        });
      });
    } else if (info.config.max_age !== stream.max_age) {
      // A stream made by an older version (max_age = TTL) drops expired jobs before a worker sees them.
      await jsm.streams.update(cfg.stream, { ...info.config, max_age: stream.max_age }).catch((e) => {
        ctx.logger.warn(
          { err: (e as Error).message, stream: cfg.stream },
          "could not update the job stream's max_age",
        );
      });
    }
    const durable = `${cfg.stream}_workers`;
    const consumer = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(cfg.ack_wait_ms),
      // One delivery beyond max_attempts, to mark a job whose workers kept dying as failed.
      max_deliver: cfg.max_attempts + 1,
      filter_subject: subject,
    };
    try {
      await jsm.consumers.add(cfg.stream, consumer);
    } catch {
      await jsm.consumers.update(cfg.stream, durable, {
        ack_wait: consumer.ack_wait,
        max_deliver: consumer.max_deliver,
      });
    }
    const kv = await nc.jetstream().views.kv(cfg.bucket, {
      history: 1,
      ttl: cfg.result_ttl_ms,
      storage: StorageType.File,
    });
    const service = new JobService(ctx, nc, kv, durable);
    // A refund releases (at 0) the conversation's jobs that never started, instead of waiting for them.
    setRefundReleaseHook(ctx, (open) => service.releaseUnstarted(open));
    return service;
  }

  notFound(id: string): ApiError {
    const ttl = Math.round(this.#ctx.config.jobs.result_ttl_ms / 1000);
    return new ApiError(
      404,
      `no job '${id}' for this conversation: the id is unknown, or the job's result expired (results are kept for ${ttl} s after the job's last update)`,
      "job_not_found",
      "id",
    );
  }

  /** The record and its KV revision (for compare-and-set); no record when expired or never written. */
  async #read(id: string): Promise<{ record: JobRecord | undefined; revision: number }> {
    const entry = await this.#kv.get(id);
    const record =
      entry?.operation === "PUT" && entry.value.length > 0
        ? (JSON.parse(decoder.decode(entry.value)) as JobRecord)
        : undefined;
    return { record, revision: entry?.revision ?? 0 };
  }

  async #put(record: JobRecord): Promise<void> {
    await this.#kv.put(record.id, encoder.encode(JSON.stringify({ ...record, updated_at: now() })));
  }

  /** Compare-and-set; false when the record changed (or expired) since `revision`. */
  async #cas(record: JobRecord, revision: number): Promise<boolean> {
    try {
      await this.#kv.update(
        record.id,
        encoder.encode(JSON.stringify({ ...record, updated_at: now() })),
        revision,
      );
      return true;
    } catch {
      return false; // a conflict; if NATS itself is down, the caller's next read throws
    }
  }

  /** Validates, records, reserves and queues the job; returns its view (status queued). */
  async submit(conversationId: string, input: Record<string, unknown>): Promise<JobView> {
    const ctx = this.#ctx;
    if (ctx.shutdown.signal.aborted) throw errors.shuttingDown();
    // A job's answer is one completion; streaming options do not apply.
    const { stream: _stream, stream_options: _options, ...rest } = input;
    const request = parseChatRequest(rest);
    // Only fields the model's providers declare are queued (the 400 comes at submit, not at run).
    const body: Record<string, unknown> = { ...forwardable(ctx, request.model, rest) };
    // Fix max_tokens now so the worker's quote (runChat) is exactly this reservation.
    const first = await prepare(ctx, { conversationId, model: request.model, meter: body });
    if (first.quote.injectedMaxTokens !== undefined) body["max_tokens"] = first.quote.injectedMaxTokens;
    const prepared = await prepare(ctx, { conversationId, model: request.model, meter: body });
    const { model, quote: q } = prepared;

    const id = `job_${randomUUID().replaceAll("-", "")}`;
    const record: JobRecord = {
      id,
      conversation_id: conversationId,
      model: model.id,
      status: "queued",
      created_at: now(),
      updated_at: now(),
      attempts: 0,
      reserved: q.amount.toString(),
    };
    const unavailable = (e: unknown) => {
      ctx.logger.error({ err: (e as Error).message, job_id: id }, "could not queue a job");
      return new ApiError(503, "the job queue is unavailable, try again", "job_queue_unavailable");
    };
    // The record exists BEFORE the reservation: an open job reservation without a record is then
    // provably a job whose record expired unclaimed (never started), which may be released at 0.
    try {
      await this.#put(record);
    } catch (e) {
      throw unavailable(e);
    }
    const forget = () => this.#kv.delete(id).catch(() => {});
    try {
      await reserve(ctx, prepared, { conversationId, reservationId: id, owner: JOB_RESERVATION_OWNER });
    } catch (e) {
      await forget();
      throw e;
    }
    const message: JobMessage = { job_id: id, conversation_id: conversationId, body };
    try {
      await this.#js.publish(
        subjectsFor(ctx.config.nats.subject_prefix).jobRun,
        encoder.encode(JSON.stringify(message)),
        { msgID: id },
      );
    } catch (e) {
      // Not queued (as far as we know): release the reservation so nothing holds the balance. Should
      // the message have reached the stream after all, its worker finds no record and releases again.
      await ctx.store.settle(id, 0n).catch(() => {});
      await forget();
      throw unavailable(e);
    }
    ctx.logger.info({ job_id: id, conversation_id: conversationId }, "job queued");
    return toView(record);
  }

  async get(conversationId: string, id: string): Promise<JobView> {
    if (!JOB_ID.test(id)) throw this.notFound(id);
    const { record } = await this.#read(id);
    // Another conversation's job is indistinguishable from a missing one.
    if (!record || record.conversation_id !== conversationId) throw this.notFound(id);
    return toView(record);
  }

  /**
   * The refund's release hook: ends the jobs among these open reservations that are not running —
   * record expired unclaimed, or queued (compare-and-set to failed `job_cancelled`, so no worker starts
   * it afterwards) — at 0, or at the reservation for a job re-queued after a worker died in its run
   * (unrunCost). Running jobs are left to settle: the refund waits for them (a dead worker's job is
   * redelivered within ack_wait, meets the closed conversation and is billed by the same rule), and
   * bills what is still open past metering.refund_wait_ms at its reservation.
   */
  async releaseUnstarted(open: Reservation[]): Promise<void> {
    for (const r of open) {
      if (r.owner !== JOB_RESERVATION_OWNER) continue;
      for (let tries = 0; tries < 5; tries++) {
        const { record, revision } = await this.#read(r.reservation_id);
        if (!record) {
          await this.#release(r.reservation_id, "expired before any worker took it");
          break;
        }
        if (record.status === "running") break;
        if (isTerminal(record.status)) {
          if (record.billed === undefined && record.started_at === undefined)
            await this.#settlePending(record);
          break;
        }
        const cancelled: JobRecord = {
          ...record,
          status: "failed",
          completed_at: now(),
          error: errorReply(
            new ApiError(
              409,
              "the conversation was closed (refund requested) before a worker started this job",
              "job_cancelled",
            ),
          ).body.error,
        };
        if (!(await this.#cas(cancelled, revision))) continue; // a worker claimed it meanwhile: re-read
        const settlement = await this.#ctx.store.settle(record.id, unrunCost(record));
        await this.#put({ ...cancelled, billed: billed(settlement) });
        this.#ctx.logger.info({ job_id: record.id }, "queued job cancelled by a refund");
        break;
      }
    }
  }

  /** Releases a job reservation nobody will run (idempotent: a settled one keeps its charge). */
  async #release(id: string, why: string): Promise<void> {
    const settlement = await this.#ctx.store.settle(id, 0n);
    if (settlement && settlement.reserved > 0n && settlement.charged === 0n)
      this.#ctx.logger.info({ job_id: id, why }, "job reservation released at 0");
  }

  /** Starts pulling jobs (jobs.concurrency at a time). */
  async startWorker(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const consumer = await this.#js.consumers.get(this.#ctx.config.jobs.stream, this.#consumerName);
    this.#loop = this.#pull(consumer);
  }

  async #pull(consumer: Consumer): Promise<void> {
    const limit = this.#ctx.config.jobs.concurrency;
    while (this.#running) {
      if (this.#active.size >= limit) {
        await Promise.race(this.#active);
        continue;
      }
      try {
        this.#fetching = await consumer.fetch({ max_messages: limit - this.#active.size, expires: 1000 });
        for await (const m of this.#fetching) {
          const p: Promise<void> = this.#run(m).finally(() => this.#active.delete(p));
          this.#active.add(p);
        }
      } catch (e) {
        if (!this.#running) break;
        this.#ctx.logger.warn({ err: (e as Error).message }, "job fetch failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
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
      this.#ctx.logger.error({ err: (e as Error).message }, "job delivery failed; it will be redelivered");
    }
  }

  async #deliver(m: JsMsg): Promise<void> {
    const ctx = this.#ctx;
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
      const { record, revision } = await this.#read(job.job_id);
      if (!record) {
        // The record expired while the job was queued (the record exists before the reservation and
        // is kept alive while a worker holds the job): it never started and nobody can read a result.
        await this.#release(job.job_id, "expired before any worker took it");
        m.ack();
        return;
      }
      if (isTerminal(record.status)) {
        // Finished before (only the ack was lost), or its worker died before the settlement.
        if (record.billed === undefined) await this.#settlePending(record);
        m.ack();
        return;
      }
      if (attempt > cfg.max_attempts) {
        await this.#fail(
          new RecordWriter(this.#kv, { ...record, attempts: attempt }),
          new ApiError(502, `the job's worker stopped ${cfg.max_attempts} times`, "job_abandoned"),
          unrunCost(record),
        );
        m.ack();
        return;
      }
      if (ctx.shutdown.signal.aborted) {
        m.nak();
        return;
      }
      if (record.status === "running" && !(await this.#reservationOpen(record))) {
        // A previous worker's run settled but the worker stopped before storing the result: running it
        // again would call the upstream for free; report what was billed.
        const settled = (await ctx.store.settlements(record.conversation_id)).find(
          (s) => s.reservation_id === record.id,
        );
        await this.#put({
          ...record,
          status: "failed",
          attempts: attempt,
          completed_at: now(),
          error: errorReply(
            new ApiError(
              502,
              "the job ran but its worker stopped before storing the result",
              "job_result_lost",
            ),
          ).body.error,
          billed: billed(settled),
        });
        m.ack();
        return;
      }
      const claimed: JobRecord = {
        ...record,
        status: "running",
        attempts: attempt,
        worker: ctx.instanceId,
        started_at: record.started_at ?? now(),
      };
      if (await this.#cas(claimed, revision)) return this.#execute(m, job, record, claimed);
      if (tries >= 4) throw new Error(`job ${job.job_id}: its record keeps changing`);
    }
  }

  async #reservationOpen(record: JobRecord): Promise<boolean> {
    const open = await this.#ctx.store.openReservations({ conversation_id: record.conversation_id });
    return open.some((r) => r.reservation_id === record.id);
  }

  /** Runs a claimed job, holding it (heartbeats, record kept alive) until its reservation is settled. */
  async #execute(m: JsMsg, job: JobMessage, before: JobRecord, claimed: JobRecord): Promise<void> {
    const ctx = this.#ctx;
    const cfg = ctx.config.jobs;
    const writer = new RecordWriter(this.#kv, claimed);
    const onRefreshError = (e: unknown) =>
      ctx.logger.warn({ err: (e as Error).message, job_id: job.job_id }, "job record refresh failed");
    // Heartbeat: the server redelivers only when this worker stops renewing (it died).
    const heartbeat = setInterval(
      () => {
        m.working();
        writer.refreshIfOlderThan(cfg.result_ttl_ms / 3, onRefreshError);
      },
      Math.max(200, Math.floor(Math.min(cfg.ack_wait_ms, cfg.result_ttl_ms) / 3)),
    );
    const timers: NodeJS.Timeout[] = [];
    const after = <T>(ms: number, value: T) =>
      new Promise<T>((resolve) => timers.push(setTimeout(() => resolve(value), ms)));
    try {
      const run: Promise<RunOutcome> = runChat(ctx, {
        conversationId: job.conversation_id,
        body: job.body,
        reservedAs: job.job_id,
        reservedAmount: BigInt(claimed.reserved),
      }).then(
        (result) => ({ completion: result.kind === "completion" ? result.body : {} }),
        (error: unknown) => ({ error }),
      );
      const outcome = await Promise.race([run, after(cfg.timeout_ms, "timeout" as const)]);
      if (outcome !== "timeout") {
        if ("error" in outcome) {
          const e = outcome.error;
          if (e instanceof ApiError && e.code === "shutting_down") {
            // Nothing reached the upstream: back to queued, another worker takes it.
            await writer.replace(before);
            m.nak();
            return;
          }
          // runChat settled already when an upstream was tried (0: no answer); otherwise nothing
          // reached the upstream in this run.
          await this.#fail(writer, e, unrunCost(before));
        } else {
          const settlement = await this.#settleRun(claimed, outcome.completion);
          await writer.write({
            status: "succeeded",
            completed_at: now(),
            completion: outcome.completion,
            usage: outcome.completion["usage"] ?? null,
            billed: billed(settlement),
          });
          ctx.logger.info({ job_id: job.job_id, attempt: claimed.attempts }, "job succeeded");
        }
        m.ack();
        return;
      }

      // Timed out: report it now; the run goes on and its own settlement bills the job.
      await writer.write({
        status: "failed",
        completed_at: now(),
        error: errorReply(
          new ApiError(504, `the job did not finish within ${cfg.timeout_ms} ms`, "job_timeout"),
        ).body.error,
      });
      ctx.logger.warn({ job_id: job.job_id, code: "job_timeout" }, "job failed");
      const late = await Promise.race([run, after(this.#graceMs(claimed.model), "hung" as const)]);
      let settlement: Settlement | undefined;
      if (late === "hung") {
        settlement = await ctx.store.settle(job.job_id, BigInt(claimed.reserved));
        ctx.logger.error(
          { job_id: job.job_id, billed: billed(settlement) },
          "a timed-out job's run did not settle within the upstream timeouts; billed its reservation",
        );
      } else if ("error" in late) {
        settlement = await ctx.store.settle(job.job_id, unrunCost(before)); // runChat settled it
      } else {
        settlement = await this.#settleRun(claimed, late.completion);
      }
      await writer.write({
        billed: billed(settlement),
        ...(late !== "hung" && "completion" in late ? { usage: late.completion["usage"] ?? null } : {}),
      });
      m.ack();
    } finally {
      clearInterval(heartbeat);
      for (const t of timers) clearTimeout(t);
    }
  }

  /**
   * The run's settlement. runChat has settled already (settle is idempotent, so this returns that
   * settlement); only if its store write failed does this settle, from the same usage by the same rule.
   */
  async #settleRun(record: JobRecord, completion: Record<string, unknown>): Promise<Settlement | undefined> {
    const model = this.#ctx.models.get(record.model);
    const usage = readUsage(completion["usage"]);
    const cost =
      usage && model
        ? costOf(priceOf(model), usage.prompt_tokens, usage.completion_tokens)
        : BigInt(record.reserved);
    return this.#ctx.store.settle(record.id, cost);
  }

  /**
   * How long a timed-out run may still settle by itself. Per provider of the model, routing/retry.ts
   * gives up after retry.max_total_timeout_ms (each attempt waits at most retry.timeout_ms for the
   * answer's headers); a non-streaming body has no timeout of its own (relay/json.ts reads it to the
   * end, only the proxy's shutdown aborts it), so one more retry.timeout_ms per provider stands for it.
   * Jobs never stream, so the stream idle timeout (relay/stream.ts) does not apply. +5 s for the store.
   */
  #graceMs(modelId: string): number {
    const routes = this.#ctx.models.has(modelId) ? routesFor(this.#ctx, modelId) : [];
    return routes.reduce((sum, r) => sum + r.retry.max_total_timeout_ms + r.retry.timeout_ms, 5_000);
  }

  /** A terminal record whose settlement is pending and whose worker is gone. */
  async #settlePending(record: JobRecord): Promise<void> {
    const settlement = await this.#ctx.store.settle(record.id, unrunCost(record));
    await this.#put({ ...record, billed: billed(settlement) });
  }

  /** Terminal failure (idempotent: a reservation the run settled keeps its charge). */
  async #fail(writer: RecordWriter, e: unknown, cost: bigint): Promise<void> {
    const settlement = await this.#ctx.store.settle(writer.record.id, cost);
    const { body } = errorReply(e);
    await writer.write({
      status: "failed",
      completed_at: now(),
      error: body.error,
      billed: billed(settlement),
    });
    this.#ctx.logger.warn({ job_id: writer.record.id, code: body.error.code }, "job failed");
  }

  /** Stops pulling and waits for running jobs (they keep their reservation until settled). */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#running = false;
    this.#fetching?.stop();
    await this.#loop?.catch(() => {});
    const deadline = new Promise((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.allSettled([...this.#active]), deadline]);
  }

  get connection(): NatsConnection {
    return this.#nc;
  }
}
