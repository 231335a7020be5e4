// Streaming answers. The upstream is read by a pump that is independent of the client: when the
// client disconnects the pump keeps reading to the upstream's final usage and bills it (T10). Each
// SSE event goes to the surface's consumer as it arrives; the usage event is held back until the
// settlement, then handed to the consumer's end with `usage.cost` set. Chat chunks are parsed only
// when needed (the first for its id, usage events, and all of them for consumers that translate);
// the others are counted for the no-usage estimate only if the stream ends without usage.
import { StringDecoder } from "node:string_decoder";
import { createParser } from "eventsource-parser";
import type { ProxyContext } from "../context.js";
import { estimateOutputTokens } from "../metering/estimate.js";
import type { Answer } from "../routing/retry.js";
import type { Usage } from "../upstreams/types.js";
import type { Billing } from "./billing.js";
import type { Charge, StreamConsumer, StreamEvent } from "./result.js";
import { settleReservation } from "./settle.js";
import { forEachChunk } from "./upstream-body.js";
import { readUsage, setCost, usageHolder } from "./usage.js";

const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const UNPARSED_LIMIT = 256 * 1024;

interface Chunk {
  id?: string;
  /** Responses API events carry their text in `delta`. */
  delta?: unknown;
  choices?: Array<{
    /** Legacy completions stream text, not deltas. */
    text?: string | null;
    delta?: { content?: string | null; tool_calls?: Array<{ function?: { arguments?: string } }> };
  }>;
}

function parseChunk(data: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(data) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Characters of visible output in one chunk: content and tool-call arguments (Responses: deltas). */
function producedBy(parsed: Record<string, unknown>): number {
  const chunk = parsed as Chunk;
  let n = typeof chunk.delta === "string" ? chunk.delta.length : 0;
  for (const choice of chunk.choices ?? []) {
    n += (choice.delta?.content?.length ?? 0) + (choice.text?.length ?? 0);
    for (const call of choice.delta?.tool_calls ?? []) n += call.function?.arguments?.length ?? 0;
  }
  return n;
}

/** Starts the pump; resolves with the charge once the stream is read to its end and settled. */
export function pumpStream(
  ctx: ProxyContext,
  answer: Answer,
  billing: Billing,
  consumer: StreamConsumer,
): Promise<Charge> {
  const pump = async (): Promise<Charge> => {
    ctx.metrics.activeStreams.inc();
    let usage: Usage | undefined;
    let usageEvent: (StreamEvent & { chunk: Record<string, unknown> }) | undefined;
    let firstSeen = false;
    let id: string | undefined;
    let producedChars = 0;
    let done = false;
    let unparsed: string[] = [];
    let unparsedChars = 0;
    const countUnparsed = () => {
      for (const data of unparsed) {
        const chunk = parseChunk(data);
        if (chunk) producedChars += producedBy(chunk);
      }
      unparsed = [];
      unparsedChars = 0;
    };
    const parser = createParser({
      onEvent(event) {
        const data = event.data;
        if (data === "[DONE]") {
          done = true;
          return;
        }
        const name = event.event;
        const mayHoldUsage = USAGE_OBJECT.test(data);
        if (!consumer.parseAll && firstSeen && !mayHoldUsage) {
          unparsed.push(data);
          unparsedChars += data.length;
          if (unparsedChars > UNPARSED_LIMIT) countUnparsed();
          consumer.event(name ? { name, data } : { data });
          return;
        }
        firstSeen = true;
        const chunk = parseChunk(data);
        if (chunk) {
          id ??= chunk["id"] as string | undefined;
          producedChars += producedBy(chunk);
          const found = mayHoldUsage ? readUsage(usageHolder(chunk), billing.inputOnly) : undefined;
          if (found) {
            usage = found;
            usageEvent = name ? { name, data, chunk } : { data, chunk };
            return; // held until settled
          }
        }
        consumer.event({ ...(name ? { name } : {}), data, ...(chunk ? { chunk } : {}) });
      },
    });
    // One idle timer per stream, re-armed with refresh() (no timer allocation per chunk).
    const idle = setTimeout(() => answer.abort(), answer.route.retry.timeout_ms);
    let cut = false;
    try {
      const decoder = new StringDecoder("utf8");
      await forEachChunk(answer.call, (value) => {
        idle.refresh();
        parser.feed(decoder.write(value));
        consumer.flush?.();
      });
      cut = !done && !usage;
    } catch {
      cut = true;
    } finally {
      clearTimeout(idle);
      answer.release();
    }

    let cost: bigint;
    let reason: string;
    if (usage) {
      cost = billing.cost(usage);
      reason = "usage";
    } else {
      // No usage (cut stream, or an upstream that ignores include_usage): bill what was visibly
      // produced plus the prompt estimate, never above the reservation.
      countUnparsed();
      const estimate = billing.estimateCost(
        estimateOutputTokens(producedChars, ctx.config.metering.chars_per_token),
      );
      // biome-ignore lint/complexity/useMathMinMax: BigInt, Math.min does not apply
      cost = estimate < billing.reservedAmount ? estimate : billing.reservedAmount;
      reason = cut ? "stream_cut" : "no_usage";
    }
    if (cut) ctx.metrics.upstreamErrors.inc({ provider: answer.route.provider, reason: "stream_cut" });
    const charged = (await settleReservation(ctx, { ...billing, cost, usage, reason })) ?? cost;
    await answer.call
      .finish?.({ id, usage, headers: answer.call.response.headers })
      .catch((e) => ctx.logger.warn({ err: (e as Error).message }, "upstream finish hook failed"));
    ctx.metrics.activeStreams.dec();
    if (usageEvent) setCost(usageEvent.chunk, charged);
    const charge: Charge = { cost: charged, ...(usage ? { usage } : {}) };
    try {
      consumer.end({ ...(usageEvent ? { usageEvent } : {}), cut, charge });
    } catch (e) {
      ctx.logger.warn({ err: (e as Error).message }, "stream consumer failed at its end");
    }
    return charge;
  };

  const running = pump();
  ctx.inflight.add(running);
  running.finally(() => ctx.inflight.delete(running)).catch(() => {});
  return running;
}
