// Async chat jobs: one JobService per proxy with jobs.enabled, over the JetStream job queue
// (queue.ts). Submit (submit.ts) validates, records, reserves and queues; workers (worker.ts, on
// proxies with jobs.worker) run and bill; a refund releases the conversation's unstarted jobs
// (release.ts). The billing rules every path follows are in billing.ts.
import type { NatsConnection } from "nats";
import type { ProxyContext } from "../context.js";
import { setRefundReleaseHook } from "../refunds/refund.js";
import type { Reservation } from "../store/types.js";
import { type JobQueue, openJobQueue } from "./queue.js";
import { releaseUnstarted } from "./release.js";
import { getJob, submitJob } from "./submit.js";
import type { JobView } from "./types.js";
import { JobWorker } from "./worker.js";

export { JOB_RESERVATION_OWNER } from "./types.js";

export class JobService {
  readonly #worker: JobWorker;

  private constructor(
    private readonly ctx: ProxyContext,
    private readonly queue: JobQueue,
    readonly connection: NatsConnection,
  ) {
    this.#worker = new JobWorker(ctx, queue);
  }

  /** Creates (or reuses) the work-queue stream, its durable consumer and the records bucket. */
  static async open(ctx: ProxyContext, nc: NatsConnection): Promise<JobService> {
    const service = new JobService(ctx, await openJobQueue(ctx, nc), nc);
    // A refund releases (at 0) the conversation's jobs that never started, instead of waiting for them.
    setRefundReleaseHook(ctx, (open) => service.releaseUnstarted(open));
    return service;
  }

  submit(conversationId: string, input: Record<string, unknown>): Promise<JobView> {
    return submitJob(this.ctx, this.queue, { conversationId, input });
  }

  get(conversationId: string, id: string): Promise<JobView> {
    return getJob(this.ctx, this.queue, { conversationId, id });
  }

  releaseUnstarted(open: Reservation[]): Promise<void> {
    return releaseUnstarted(this.ctx, this.queue.records, open);
  }

  startWorker(): Promise<void> {
    return this.#worker.start();
  }

  /** Stops pulling and waits for running jobs (they keep their reservation until settled). */
  stop(timeoutMs = 10_000): Promise<void> {
    return this.#worker.stop(timeoutMs);
  }
}
