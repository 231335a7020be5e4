// Submitting a job and reading it back. Submit checks the request like a chat call, stores the job
// record, then RESERVES its cost with the job id as the reservation id (queued jobs can never
// overspend a conversation) and queues the job message on the work-queue stream.
import { randomUUID } from "node:crypto";
import type { ProxyContext } from "../context.js";
import { ApiError, errors } from "../errors.js";
import { forwardable, prepare, reserve } from "../relay/admission.js";
import { parseChatRequest } from "../relay/request.js";
import type { JobQueue } from "./queue.js";
import { nowSeconds } from "./records.js";
import { JOB_RESERVATION_OWNER, type JobMessage, type JobRecord, type JobView, toView } from "./types.js";

const JOB_ID = /^job_[0-9a-f]{32}$/;
const encoder = new TextEncoder();

export function jobNotFound(ctx: ProxyContext, id: string): ApiError {
  const ttl = Math.round(ctx.config.jobs.result_ttl_ms / 1000);
  return new ApiError(
    404,
    `no job '${id}' for this conversation: the id is unknown, or the job's result expired (results are kept for ${ttl} s after the job's last update)`,
    "job_not_found",
    "id",
  );
}

/** Validates, records, reserves and queues the job; returns its view (status queued). */
export async function submitJob(
  ctx: ProxyContext,
  queue: JobQueue,
  { conversationId, input }: { conversationId: string; input: Record<string, unknown> },
): Promise<JobView> {
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

  const id = `job_${randomUUID().replaceAll("-", "")}`;
  const record: JobRecord = {
    id,
    conversation_id: conversationId,
    model: prepared.model.id,
    status: "queued",
    created_at: nowSeconds(),
    updated_at: nowSeconds(),
    attempts: 0,
    reserved: prepared.quote.amount.toString(),
  };
  const unavailable = (e: unknown) => {
    ctx.logger.error({ err: (e as Error).message, job_id: id }, "could not queue a job");
    return new ApiError(503, "the job queue is unavailable, try again", "job_queue_unavailable");
  };
  // The record exists BEFORE the reservation: an open job reservation without a record is then
  // provably a job whose record expired unclaimed (never started), which may be released at 0.
  try {
    await queue.records.put(record);
  } catch (e) {
    throw unavailable(e);
  }
  const forget = () => queue.records.delete(id).catch(() => {});
  try {
    await reserve(ctx, prepared, { conversationId, reservationId: id, owner: JOB_RESERVATION_OWNER });
  } catch (e) {
    await forget();
    throw e;
  }
  const message: JobMessage = { job_id: id, conversation_id: conversationId, body };
  try {
    await queue.js.publish(queue.subject, encoder.encode(JSON.stringify(message)), { msgID: id });
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

/** A job of this conversation; another conversation's job is indistinguishable from a missing one. */
export async function getJob(
  ctx: ProxyContext,
  queue: JobQueue,
  { conversationId, id }: { conversationId: string; id: string },
): Promise<JobView> {
  if (!JOB_ID.test(id)) throw jobNotFound(ctx, id);
  const { record } = await queue.records.read(id);
  if (!record || record.conversation_id !== conversationId) throw jobNotFound(ctx, id);
  return toView(record);
}
