// Non-streaming answers: read the whole upstream JSON, settle from its usage, hand back the parsed
// answer with its charge.
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";
import type { Answer } from "../routing/retry.js";
import { balanceOf } from "./admission.js";
import type { Billing } from "./billing.js";
import type { CompletionResult } from "./result.js";
import { settleReservation } from "./settle.js";
import { forEachChunk } from "./upstream-body.js";
import { readUsage, setCost, usageHolder } from "./usage.js";

export async function readCompletion(
  ctx: ProxyContext,
  answer: Answer,
  billing: Billing,
): Promise<CompletionResult> {
  const track = (async (): Promise<CompletionResult> => {
    let json: Record<string, unknown>;
    try {
      // Configured secret values never reach the client, whatever the upstream echoes (T22).
      json = JSON.parse(ctx.scrubber.values(await readBody(answer))) as Record<string, unknown>;
      if (!json || typeof json !== "object") throw new Error("not an object");
    } catch {
      // Cut or garbled after a 2xx: the client gets nothing usable, so it pays nothing.
      await settleReservation(ctx, { ...billing, cost: 0n, reason: "upstream_garbled" });
      ctx.metrics.upstreamErrors.inc({ provider: answer.route.provider, reason: "garbled_body" });
      throw errors.upstreamFailed(`${answer.route.provider}: the upstream answer was not valid JSON`);
    }
    const usage = readUsage(usageHolder(json), billing.inputOnly);
    // No usage reported: bill the reservation (documented), never more.
    const cost = usage ? billing.cost(usage) : billing.reservedAmount;
    const charged = await settleReservation(ctx, {
      ...billing,
      cost,
      usage,
      reason: usage ? "usage" : "no_usage",
      answerId: typeof json["id"] === "string" ? json["id"] : undefined,
    });
    await answer.call
      .finish?.({ id: json["id"] as string | undefined, usage, headers: answer.call.response.headers })
      .catch((e) => ctx.logger.warn({ err: (e as Error).message }, "upstream finish hook failed"));
    json["model"] = billing.model;
    setCost(json, charged ?? cost);
    const state = await ctx.store.getConversation(billing.conversationId).catch(() => undefined);
    return {
      kind: "completion",
      body: json,
      charge: {
        cost: charged ?? cost,
        ...(usage ? { usage } : {}),
        ...(state ? { balance: balanceOf(state) } : {}),
      },
    };
  })();
  try {
    return await ctx.inflight.track(track);
  } finally {
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
