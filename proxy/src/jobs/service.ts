// Async chat jobs. Submit checks the request like a chat call, then RESERVES its cost right away with
// the job id as the reservation id (queued jobs can never overspend a conversation), stores a job
// record (KV bucket with a TTL) and queues the job on a JetStream work-queue stream. Workers (every
// proxy with jobs.worker) pull from one durable consumer: explicit ack, heartbeats while running,
// redelivery after ack_wait when a worker dies. A worker runs the chat through completeChat billing
// that reservation; settle is idempotent, so however often a job is delivered it is billed once.
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
import { priceOf } from "../metering/prices.js";
import { quote } from "../metering/reservation.js";
import { errorReply, subjectsFor } from "../nats/framing.js";
import { completeChat } from "../relay/chat.js";
import { parseChatRequest } from "../relay/request.js";
import { isTerminal, type JobMessage, type JobRecord, type JobView, toView } from "./types.js";

/** Owner tag of job reservations: no proxy's startup recovery bills them; the job queue owns them. */
export const JOB_RESERVATION_OWNER = "aiproxy-jobs";
const JOB_ID = /^job_[0-9a-f]{32}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const now = () => Math.floor(Date.now() / 1000);

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
      // Jobs nobody ran within the result TTL are dropped; their record is gone too.
      max_age: nanos(cfg.result_ttl_ms),
      duplicate_window: nanos(Math.min(cfg.result_ttl_ms, 120_000)),
    };
    try {
      await jsm.streams.info(cfg.stream);
    } catch {
      await jsm.streams.add(stream).catch(async (e) => {
        // Another proxy created it between our check and add.
        await jsm.streams.info(cfg.stream).catch(() => {
          throw e;
        });
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
    return new JobService(ctx, nc, kv, durable);
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

  async #record(id: string): Promise<JobRecord | undefined> {
    const entry = await this.#kv.get(id);
    return entry?.operation === "PUT" && entry.value.length > 0
      ? (JSON.parse(decoder.decode(entry.value)) as JobRecord)
      : undefined;
  }

  async #write(record: JobRecord): Promise<void> {
    await this.#kv.put(record.id, encoder.encode(JSON.stringify({ ...record, updated_at: now() })));
  }

  /** Validates and reserves like a chat request, queues the job, returns its view (status queued). */
  async submit(conversationId: string, input: Record<string, unknown>): Promise<JobView> {
    const ctx = this.#ctx;
    if (ctx.shutdown.signal.aborted) throw errors.shuttingDown();
    // A job's answer is one completion; streaming options do not apply.
    const { stream: _stream, stream_options: _options, ...rest } = input;
    const body: Record<string, unknown> = rest;
    const request = parseChatRequest(body);
    const model = ctx.models.get(request.model);
    if (!model) throw errors.unknownModel(request.model);
    const state = await ctx.conversations.load(conversationId);
    if (state.status !== "open") throw errors.conversationClosed();
    const price = priceOf(model);
    const options = {
      defaultMaxTokens: ctx.config.metering.default_max_tokens,
      charsPerToken: ctx.config.metering.chars_per_token,
    };
    // Fix max_tokens now so the worker's quote (completeChat) is exactly this reservation.
    const first = quote(body, model, price, state, options);
    if (first.injectedMaxTokens !== undefined) body["max_tokens"] = first.injectedMaxTokens;
    const q = quote(body, model, price, state, options);

    const id = `job_${randomUUID().replaceAll("-", "")}`;
    const reserved = await ctx.store.reserve({
      conversation_id: conversationId,
      reservation_id: id,
      amount: q.amount,
      owner: JOB_RESERVATION_OWNER,
    });
    if (!reserved.ok) {
      if (reserved.reason === "closed") throw errors.conversationClosed();
      if (reserved.reason === "not_found") throw errors.unknownConversation();
      throw errors.insufficientQuota(q.amount, reserved.available);
    }
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
    const message: JobMessage = { job_id: id, conversation_id: conversationId, body };
    try {
      await this.#write(record);
      await this.#js.publish(
        subjectsFor(ctx.config.nats.subject_prefix).jobRun,
        encoder.encode(JSON.stringify(message)),
        { msgID: id },
      );
    } catch (e) {
      // Not queued: release the reservation so the conversation's balance is not held by nothing.
      await ctx.store.settle(id, 0n).catch(() => {});
      ctx.logger.error({ err: (e as Error).message, job_id: id }, "could not queue a job");
      throw new ApiError(503, "the job queue is unavailable, try again", "job_queue_unavailable");
    }
    ctx.logger.info({ job_id: id, conversation_id: conversationId }, "job queued");
    return toView(record);
  }

  async get(conversationId: string, id: string): Promise<JobView> {
    if (!JOB_ID.test(id)) throw this.notFound(id);
    const record = await this.#record(id);
    // Another conversation's job is indistinguishable from a missing one.
    if (!record || record.conversation_id !== conversationId) throw this.notFound(id);
    return toView(record);
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
    const ctx = this.#ctx;
    const cfg = ctx.config.jobs;
    let job: JobMessage;
    try {
      job = JSON.parse(decoder.decode(m.data)) as JobMessage;
    } catch {
      m.term();
      return;
    }
    const record = await this.#record(job.job_id);
    if (!record) {
      // Expired before it ran: nobody can read a result, so nothing is billed.
      await ctx.store.settle(job.job_id, 0n);
      m.ack();
      return;
    }
    if (isTerminal(record.status)) {
      m.ack(); // finished before, only the ack was lost
      return;
    }
    const attempt = m.info.redeliveryCount;
    if (attempt > cfg.max_attempts) {
      await this.#fail(
        record,
        attempt,
        new ApiError(502, `the job's worker stopped ${cfg.max_attempts} times`, "job_abandoned"),
      );
      m.ack();
      return;
    }
    if (ctx.shutdown.signal.aborted) {
      m.nak();
      return;
    }
    await this.#write({ ...record, status: "running", attempts: attempt, worker: ctx.config.instance_id });
    // Heartbeat: the server redelivers only when this worker stops renewing (it died).
    const heartbeat = setInterval(() => m.working(), Math.max(200, Math.floor(cfg.ack_wait_ms / 3)));
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new ApiError(504, `the job did not finish within ${cfg.timeout_ms} ms`, "job_timeout")),
          cfg.timeout_ms,
        );
      });
      const run = (async () => {
        const res = await completeChat(ctx, job.conversation_id, job.body, { reservedAs: job.job_id });
        return (await res.json()) as Record<string, unknown>;
      })();
      run.catch(() => {}); // the timeout may win; the run still settles on its own
      const completion = await Promise.race([run, timeout]);
      const settled = (await ctx.store.settlements(job.conversation_id)).find(
        (s) => s.reservation_id === job.job_id,
      );
      await this.#write({
        ...record,
        status: "succeeded",
        attempts: attempt,
        worker: ctx.config.instance_id,
        completed_at: now(),
        completion,
        usage: completion["usage"] ?? null,
        ...(settled ? { billed: settled.charged.toString() } : {}),
      });
      m.ack();
      ctx.logger.info({ job_id: job.job_id, attempt }, "job succeeded");
    } catch (e) {
      if (e instanceof ApiError && e.code === "shutting_down") {
        m.nak(); // another worker takes it; the reservation stays open for it
        return;
      }
      await this.#fail(record, attempt, e);
      m.ack();
    } finally {
      clearInterval(heartbeat);
      clearTimeout(timer);
    }
  }

  /** Terminal failure: release what was not used (idempotent: a settled reservation keeps its charge). */
  async #fail(record: JobRecord, attempt: number, e: unknown): Promise<void> {
    const settled = await this.#ctx.store.settle(record.id, 0n);
    const { body } = errorReply(e);
    await this.#write({
      ...record,
      status: "failed",
      attempts: attempt,
      completed_at: now(),
      error: body.error,
      billed: settled ? settled.charged.toString() : "0",
    });
    this.#ctx.logger.warn({ job_id: record.id, code: body.error.code }, "job failed");
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
