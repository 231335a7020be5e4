// Streaming answers. The upstream is read by a pump that is independent of the client: when the
// client disconnects the pump keeps reading to the upstream's final usage and bills it (T10). Each
// SSE event goes to the surface's consumer as it arrives; the usage event is held back until the
// settlement, then handed to the consumer's end with `usage.cost` set. Chat chunks are parsed only
// when needed (the first for its id, usage events, and all of them for consumers that translate);
// the others are counted for the no-usage estimate only if the stream ends without usage.
// Configured secret values are scrubbed from the upstream bytes before anything reads them (T22).
import { StringDecoder } from "node:string_decoder";
import { createParser } from "eventsource-parser";
import type { ProxyContext } from "../context.js";
import { ProducedOutput } from "../metering/output.js";
import type { Answer } from "../routing/retry.js";
import type { Usage } from "../upstreams/types.js";
import type { Billing } from "./billing.js";
import type { Charge, StreamConsumer, StreamEvent } from "./result.js";
import { settleReservation } from "./settle.js";
import { forEachChunk } from "./upstream-body.js";
import { readUsage, setCost, usageHolder } from "./usage.js";

const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const UNPARSED_LIMIT = 256 * 1024;

function parseChunk(data: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(data) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the pump; resolves with the charge once the stream is read to its end and settled. */
export function pumpStream(
  ctx: ProxyContext,
  answer: Answer,
  billing: Billing,
  consumer: StreamConsumer,
): Promise<Charge> {
  // A consumer that throws (a translation meeting a chunk it cannot read) stops receiving events;
  // the pump goes on reading and settling. An exception must never escape into the socket's 'data'.
  let broken = false;
  const failed = (e: unknown) => {
    broken = true;
    ctx.logger.warn({ err: (e as Error).message }, "stream consumer failed; the stream is still settled");
  };
  // Per event on the hot path: no closures or argument arrays allocated here.
  const deliver = (event: StreamEvent) => {
    if (broken) return;
    try {
      consumer.event(event);
    } catch (e) {
      failed(e);
    }
  };
  const flushConsumer = consumer.flush
    ? () => {
        if (broken) return;
        try {
          consumer.flush!();
        } catch (e) {
          failed(e);
        }
      }
    : undefined;

  const pump = async (): Promise<Charge> => {
    ctx.metrics.activeStreams.inc();
    let usage: Usage | undefined;
    let usageEvent: (StreamEvent & { chunk: Record<string, unknown> }) | undefined;
    let firstSeen = false;
    let id: string | undefined;
    const produced = new ProducedOutput();
    let done = false;
    let unparsed: string[] = [];
    let unparsedChars = 0;
    const countUnparsed = () => {
      for (const data of unparsed) {
        const chunk = parseChunk(data);
        if (chunk) produced.add(chunk);
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
          deliver(name ? { name, data } : { data });
          return;
        }
        firstSeen = true;
        const chunk = parseChunk(data);
        if (chunk) {
          id ??= chunk["id"] as string | undefined;
          produced.add(chunk);
          const found = mayHoldUsage ? readUsage(usageHolder(chunk), billing.inputOnly) : undefined;
          if (found) {
            usage = found;
            usageEvent = name ? { name, data, chunk } : { data, chunk };
            return; // held until settled
          }
        }
        deliver({ ...(name ? { name } : {}), data, ...(chunk ? { chunk } : {}) });
      },
    });
    // One idle timer per stream, re-armed with refresh() (no timer allocation per chunk).
    const idle = setTimeout(() => answer.abort(), answer.route.retry.timeout_ms);
    let cut = false;
    const scrub = ctx.scrubber.empty ? undefined : ctx.scrubber.stream();
    const decoder = new StringDecoder("utf8");
    try {
      await forEachChunk(answer.call, (raw) => {
        idle.refresh();
        parser.feed(decoder.write(scrub ? scrub.push(raw) : raw));
        flushConsumer?.();
      });
      const held = scrub?.end();
      if (held?.length) parser.feed(decoder.write(held));
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
      // No usage (cut stream, or an upstream that ignores include_usage): bill every delta it
      // produced (reasoning, refusal, tool calls, audio) plus the prompt, never above the reservation.
      countUnparsed();
      const estimate = billing.estimateCost(billing.countOutput(produced));
      // biome-ignore lint/complexity/useMathMinMax: BigInt, Math.min does not apply
      cost = estimate < billing.reservedAmount ? estimate : billing.reservedAmount;
      reason = cut ? "stream_cut" : "no_usage";
    }
    if (cut) ctx.metrics.upstreamErrors.inc({ provider: answer.route.provider, reason: "stream_cut" });
    const charged = (await settleReservation(ctx, { ...billing, cost, usage, reason, answerId: id })) ?? cost;
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

  return ctx.inflight.track(pump());
}
