// Job client for the web app (browser or Node): submit a chat request as a job, poll until it is done
// with exponential backoff. Only fetch; no Node APIs, no proxy imports beyond types.
import type { JobView } from "./types.js";

export interface JobClientOptions {
  /** Proxy base URL, e.g. https://proxy.example.com (no trailing /v1). */
  baseUrl: string;
  /** The conversation secret (bearer). */
  secret: string;
  fetch?: typeof fetch;
}

export interface PollOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Give up after this long (the job keeps running server-side). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** An OpenAI-shaped error from the proxy, with its HTTP status. */
export class JobApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "JobApiError";
  }
}

async function call(options: JobClientOptions, path: string, init: RequestInit = {}): Promise<JobView> {
  const f = options.fetch ?? fetch;
  const res = await f(`${options.baseUrl.replace(/\/$/, "")}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${options.secret}`, "content-type": "application/json" },
  });
  const body = (await res.json().catch(() => ({}))) as JobView & {
    error?: { message?: string; code?: string };
  };
  if (!res.ok) {
    const e = body.error as { message?: string; code?: string } | undefined;
    throw new JobApiError(res.status, e?.message ?? `HTTP ${res.status}`, e?.code);
  }
  return body;
}

export function submitJob(options: JobClientOptions, request: Record<string, unknown>): Promise<JobView> {
  return call(options, "/v1/jobs", { method: "POST", body: JSON.stringify(request) });
}

export function getJob(options: JobClientOptions, id: string): Promise<JobView> {
  return call(options, `/v1/jobs/${encodeURIComponent(id)}`);
}

/** node:timers/promises' abortable setTimeout, for browsers too (this client runs in the web app). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason ?? new Error("aborted"));
      },
      { once: true },
    );
  });

/** Polls until the job succeeded or failed; returns the final view (check `status` / `error`). */
export async function waitForJob(
  options: JobClientOptions,
  id: string,
  poll: PollOptions = {},
): Promise<JobView> {
  const { initialDelayMs = 250, maxDelayMs = 5_000, factor = 1.6, timeoutMs = 15 * 60_000, signal } = poll;
  const deadline = Date.now() + timeoutMs;
  let delay = initialDelayMs;
  for (;;) {
    const view = await getJob(options, id);
    if (view.status === "succeeded" || view.status === "failed") return view;
    if (Date.now() + delay > deadline)
      throw new JobApiError(408, `job ${id} still ${view.status} after ${timeoutMs} ms`, "poll_timeout");
    await sleep(delay, signal);
    delay = Math.min(maxDelayMs, Math.ceil(delay * factor));
  }
}

/** Submit + wait. */
export async function runJob(
  options: JobClientOptions,
  request: Record<string, unknown>,
  poll?: PollOptions,
): Promise<JobView> {
  const job = await submitJob(options, request);
  return waitForJob(options, job.id, poll);
}
