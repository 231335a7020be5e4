// Non-streaming answers: read the whole upstream JSON, settle from its usage, return it.
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import type { Answer } from "../routing/retry.js";
import type { Billing } from "./chat.js";
import { settleReservation } from "./settle.js";
import { upstreamText } from "./upstream-body.js";
import { readUsage } from "./usage.js";

export async function relayJson(ctx: ProxyContext, answer: Answer, billing: Billing): Promise<Response> {
  const track = (async () => {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await upstreamText(answer.call)) as Record<string, unknown>;
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
