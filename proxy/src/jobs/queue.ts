// Provisioning of the job queue on JetStream: the work-queue stream, its durable consumer (explicit
// ack, redelivery after ack_wait, one delivery beyond max_attempts) and the records bucket (KV with a
// TTL). Every proxy with jobs enabled calls it; creation races between proxies are harmless.
import {
  AckPolicy,
  type JetStreamClient,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "nats";
import type { ProxyContext } from "../context.js";
import { subjectsFor } from "../nats/framing.js";
import { JobRecords } from "./records.js";

export interface JobQueue {
  js: JetStreamClient;
  records: JobRecords;
  /** The subject jobs are published on. */
  subject: string;
  /** The durable consumer every worker pulls from. */
  consumer: string;
}

export async function openJobQueue(ctx: ProxyContext, nc: NatsConnection): Promise<JobQueue> {
  const cfg = ctx.config.jobs;
  const subject = subjectsFor(ctx.config.nats.subject_prefix).jobRun;
  const jsm = await nc.jetstreamManager();
  const stream: Partial<StreamConfig> & { name: string } = {
    name: cfg.stream,
    subjects: [subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    // A job nobody started within the result TTL has no record left; its message is kept another
    // TTL (at least a minute) so a worker still takes it and releases its reservation at 0 (see
    // billing.ts). Past that, only a refund of the conversation releases it (releaseUnstarted).
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
  return { js: nc.jetstream(), records: new JobRecords(kv), subject, consumer: durable };
}
