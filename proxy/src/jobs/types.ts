// Async job records and the view clients get (HTTP GET /v1/jobs/{id}, NATS <prefix>.jobs.get).
import type { OpenAiErrorBody } from "../errors.js";

/**
 * Owner tag of job reservations. No proxy's startup recovery bills them (recovery.ts bills only the
 * restarting instance's own reservations): a job still queued in JetStream may run later, and the job
 * worker and the refund's release hook settle or release them (jobs/billing.ts has the rules). Plain
 * module (no NATS import) so recovery.ts can use it.
 */
export const JOB_RESERVATION_OWNER = "aiproxy-jobs";

export type JobStatus = "queued" | "running" | "succeeded" | "failed";

/** Stored in the jobs KV bucket under the job id; the bucket's TTL expires it. */
export interface JobRecord {
  id: string;
  /** sha256(secret): only the conversation that submitted a job can read it. */
  conversation_id: string;
  model: string;
  status: JobStatus;
  /** Unix seconds, like OpenAI's `created`. */
  created_at: number;
  updated_at: number;
  completed_at?: number;
  /** Deliveries so far (more than 1: a worker died or shut down mid-job). */
  attempts: number;
  /**
   * Unix seconds when a worker first claimed the job (compare-and-set queued -> running). Absent: the
   * job provably never reached the upstream, so it is released at 0 whenever it ends unrun.
   */
  started_at?: number;
  /** instance_id of the proxy running (or that ran) the job; operators only, not in the view. */
  worker?: string;
  /** The reservation made at submit, token units as a string. */
  reserved: string;
  completion?: Record<string, unknown>;
  usage?: unknown;
  /**
   * What the conversation was charged for this job (once), token units as a string. Absent on a
   * terminal record: the settlement is pending (a timed-out run still finishing).
   */
  billed?: string;
  error?: OpenAiErrorBody["error"];
}

/** The queued message: everything a worker needs (never the secret). */
export interface JobMessage {
  job_id: string;
  conversation_id: string;
  body: Record<string, unknown>;
}

export interface JobView {
  id: string;
  object: "chat.completion.job";
  status: JobStatus;
  model: string;
  created_at: number;
  completed_at: number | null;
  attempts: number;
  completion: Record<string, unknown> | null;
  usage: unknown;
  billed: string | null;
  error: OpenAiErrorBody["error"] | null;
}

export function toView(r: JobRecord): JobView {
  return {
    id: r.id,
    object: "chat.completion.job",
    status: r.status,
    model: r.model,
    created_at: r.created_at,
    completed_at: r.completed_at ?? null,
    attempts: r.attempts,
    completion: r.completion ?? null,
    usage: r.usage ?? null,
    billed: r.billed ?? null,
    error: r.error ?? null,
  };
}

export const isTerminal = (s: JobStatus) => s === "succeeded" || s === "failed";
