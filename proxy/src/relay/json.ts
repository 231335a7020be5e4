// Non-streaming answers: read the whole upstream JSON, settle from its usage, return it.
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import type { Answer } from "../routing/retry.js";
import type { Billing } from "./chat.js";
import { settleReservation } from "./settle.js";
import { forEachChunk } from "./upstream-body.js";
import { readUsage } from "./usage.js";

export async function relayJson(ctx: ProxyContext, answer: Answer, billing: Billing): Promise<Response> {
  const track = (async () => {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await readBody(answer)) as Record<string, unknown>;
    } catch {
      // Cut or garbled after a 2xx: the client gets nothing usable, so it pays nothing.
      await settleReservation(ctx, { ...billing, cost: 0n, reason: "upstream_garbled" });
      ctx.metrics.upstreamErrors.inc({ provider: answer.route.provider, reason: "garbled_body" });
      throw errors.upstreamFailed(`${answer.route.provider}: the upstream answer was not valid JSON`);
    }
    const usage = readUsage(json["usage"]);
    // No usage reported: bill the reservation (documented), never more.
    const cost = usage ? billing.cost(usage) : billing.reservedAmount;
    await settleReservation(ctx, { ...billing, cost, usage, reason: usage ? "usage" : "no_usage" });
    await answer.call
      .finish?.({ id: json["id"] as string | undefined, usage, headers: answer.call.response.headers })
      .catch((e) => ctx.logger.warn({ err: (e as Error).message }, "upstream finish hook failed"));
    json["model"] = billing.model;
    return Response.json(json);
  })();
  ctx.inflight.add(track);
  try {
    return await track;
  } finally {
    ctx.inflight.delete(track);
    answer.release();
  }
}

/**
 * The whole answer body. An upstream that sends headers and then stalls is aborted after
 * `timeout_ms` without a byte (as streams are), so the request settles instead of holding its
 * reservation (and an async job its worker) forever.
 */
async function readBody(answer: Answer): Promise<string> {
  const chunks: Uint8Array[] = [];
  const idle = setTimeout(() => answer.abort(), answer.route.retry.timeout_ms);
  try {
    await forEachChunk(answer.call, (chunk) => {
      idle.refresh();
      chunks.push(chunk);
    });
  } finally {
    clearTimeout(idle);
  }
  return Buffer.concat(chunks).toString("utf8");
}
