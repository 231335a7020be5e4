// Retries (exponential backoff with jitter, Retry-After honoured) and provider fallback, all strictly
// before the first byte reaches the client: once a 2xx answer is handed back nothing is replayed, so
// a request is billed once, for the attempt that answered (T11).
import { setTimeout as wait } from "node:timers/promises";
import type { RetryConfig } from "../config.js";
import { upstreamText } from "../relay/upstream-body.js";
import { scrubKeyFormats } from "../secrets/index.js";
import { type Upstream, type UpstreamCall, UpstreamError, type UpstreamRequest } from "../upstreams/types.js";

export interface Route {
  provider: string;
  upstream: Upstream;
  upstreamModel: string;
  retry: RetryConfig;
}

export interface Answer {
  call: UpstreamCall;
  route: Route;
  attempts: number;
  /** Aborts the answering attempt's upstream request (stream idle timeout, shutdown). */
  abort: () => void;
  /** Detaches the attempt from the shutdown signal once its answer has been read. */
  release: () => void;
}

export interface FailedAttempt {
  provider: string;
  status: number;
  reason: string;
}

/** Why the whole chain of providers failed, with what the client should see. */
export class RoutingError extends Error {
  override name = "RoutingError";
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** A backoff wait that shutdown cuts short (it resolves; the caller checks the signal). */
const sleep = (ms: number, signal?: AbortSignal) =>
  wait(ms, undefined, signal ? { signal } : {}).catch(() => {});

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unparsable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function backoffMs(retry: RetryConfig, attempt: number, random = Math.random): number {
  const exp = Math.min(retry.max_delay_ms, retry.initial_delay_ms * retry.backoff_multiplier ** attempt);
  // "Equal jitter": at least half the exponential delay, so retries stay spaced under contention.
  return Math.round(exp / 2 + (random() * exp) / 2);
}

const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * Scrubs things that look like credentials from upstream error text before a client sees it; the
 * relay also scrubs every configured secret by value (secrets/scrubber.ts) where it has the context.
 */
export function scrubUpstreamMessage(text: string, byValue?: (text: string) => string): string {
  // By value first and on the whole text: a cut could leave a key's prefix that no value matches.
  const scrubbed = byValue ? byValue(text) : text;
  return scrubKeyFormats(scrubbed.slice(0, 2000)).slice(0, 500);
}

async function errorText(call: UpstreamCall): Promise<string> {
  try {
    const text = await upstreamText(call);
    const parsed = JSON.parse(text) as { error?: { message?: string } | string };
    const message = typeof parsed.error === "string" ? parsed.error : parsed.error?.message;
    return message ?? text;
  } catch {
    return `HTTP ${call.response.status}`;
  }
}

interface Hooks {
  onFailedAttempt?(failure: FailedAttempt): void;
  /** Which endpoint an attempt calls (default: chat completions). */
  send?(upstream: Upstream, request: UpstreamRequest): Promise<UpstreamCall>;
  /** Proxy shutdown. */
  signal?: AbortSignal;
  /** Replaces configured secret values in upstream error text (the proxy's Scrubber). */
  scrub?(text: string): string;
}

/** Tries each route in order, each with its own retry budget. */
export async function callWithFallback(
  routes: Route[],
  body: Record<string, unknown> & { model: string },
  hooks: Hooks = {},
): Promise<Answer> {
  let last: RoutingError | undefined;
  for (const route of routes) {
    try {
      return await callWithRetries(route, { ...body, model: route.upstreamModel }, hooks);
    } catch (e) {
      if (!(e instanceof RoutingError)) throw e;
      last = e;
      // The client's own mistake would fail on every provider: stop here.
      if (e.status === 400 || e.status === 404 || e.status === 413 || e.status === 422) throw e;
      if (hooks.signal?.aborted) throw e;
    }
  }
  throw last ?? new RoutingError(502, "no upstream provider configured for this model", "no_upstream");
}

export async function callWithRetries(
  route: Route,
  body: Record<string, unknown> & { model: string },
  hooks: Hooks = {},
): Promise<Answer> {
  const { retry } = route;
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const remaining = retry.max_total_timeout_ms - (Date.now() - started);
    const controller = new AbortController();
    const onShutdown = () => controller.abort();
    hooks.signal?.addEventListener("abort", onShutdown);
    const timer = setTimeout(() => controller.abort(), Math.max(1, Math.min(retry.timeout_ms, remaining)));
    let failure: RoutingError;
    let waitHint: number | undefined;
    try {
      const request = { body, signal: controller.signal };
      const call = await (hooks.send ? hooks.send(route.upstream, request) : route.upstream.chat(request));
      clearTimeout(timer);
      const { response } = call;
      if (response.ok) {
        return {
          call,
          route,
          attempts: attempt + 1,
          abort: () => {
            hooks.signal?.removeEventListener("abort", onShutdown);
            controller.abort();
          },
          release: () => hooks.signal?.removeEventListener("abort", onShutdown),
        };
      }
      hooks.signal?.removeEventListener("abort", onShutdown);
      const status = response.status;
      waitHint = retryAfterMs(response.headers.get("retry-after"));
      const message = scrubUpstreamMessage(await errorText(call), hooks.scrub);
      failure = mapStatus(route.provider, status, message, waitHint);
      hooks.onFailedAttempt?.({ provider: route.provider, status, reason: `http_${status}` });
      if (!isRetryableStatus(status)) throw failure;
    } catch (e) {
      clearTimeout(timer);
      hooks.signal?.removeEventListener("abort", onShutdown);
      if (e instanceof RoutingError) throw e;
      const timedOut = controller.signal.aborted;
      const err = e instanceof UpstreamError ? e : undefined;
      failure = timedOut
        ? new RoutingError(
            504,
            `${route.provider}: no answer within ${retry.timeout_ms} ms`,
            "upstream_timeout",
          )
        : new RoutingError(
            err?.status ?? 502,
            scrubUpstreamMessage(err?.message ?? `${route.provider}: upstream failed`, hooks.scrub),
            err?.code ?? "upstream_error",
          );
      hooks.onFailedAttempt?.({
        provider: route.provider,
        status: failure.status,
        reason: timedOut ? "timeout" : (err?.code ?? "network"),
      });
      if (err && !err.retryable && !timedOut) throw failure;
    }
    if (attempt >= retry.max_retries || hooks.signal?.aborted) throw failure;
    const delay = Math.max(backoffMs(retry, attempt), waitHint ?? 0);
    if (Date.now() - started + delay > retry.max_total_timeout_ms) throw failure;
    await sleep(delay, hooks.signal);
  }
}

function mapStatus(provider: string, status: number, message: string, waitMs?: number): RoutingError {
  if (status === 429)
    return new RoutingError(
      429,
      `${provider}: rate limited: ${message}`,
      "rate_limited",
      waitMs === undefined ? undefined : waitMs / 1000,
    );
  if (status === 400 || status === 413 || status === 422)
    return new RoutingError(400, message, "upstream_rejected_request");
  if (status === 401 || status === 403)
    // Our credentials, not the client's: never echo the upstream's text (it may quote the key).
    return new RoutingError(
      502,
      `${provider}: the proxy's upstream credentials were rejected`,
      "upstream_auth_failed",
    );
  if (status === 404)
    return new RoutingError(502, `${provider}: model or endpoint not found upstream`, "upstream_not_found");
  if (status === 408 || status === 504)
    return new RoutingError(504, `${provider}: upstream timed out`, "upstream_timeout");
  if (status === 503)
    return new RoutingError(503, `${provider}: upstream unavailable`, "upstream_unavailable");
  return new RoutingError(502, `${provider}: upstream error ${status}`, "upstream_error");
}
