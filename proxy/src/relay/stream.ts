// Streaming answers. The upstream is read by a pump that is independent of the client: when the
// client disconnects the pump keeps reading to the upstream's final usage chunk and bills it (T10).
// Events are forwarded as they arrive; only the usage chunk the proxy injected is dropped when the
// client did not ask for it. Over HTTP the bytes go straight to the Node ServerResponse (sink.ts).
import { StringDecoder } from "node:string_decoder";
import { createParser } from "eventsource-parser";
import type { ProxyContext } from "../context.js";
import { estimateOutputTokens } from "../metering/estimate.js";
import type { Answer } from "../routing/retry.js";
import type { Usage } from "../upstreams/types.js";
import type { Billing } from "./chat.js";
import { settleReservation } from "./settle.js";
import { NodeSink, pendingNodeSinks, type Sink, webSink } from "./sink.js";
import { forEachChunk } from "./upstream-body.js";
import { readUsage } from "./usage.js";

const USAGE_OBJECT = /"usage"\s*:\s*\{/;

interface Chunk {
  id?: string;
  choices?: Array<{
    delta?: { content?: string | null; tool_calls?: Array<{ function?: { arguments?: string } }> };
  }>;
  usage?: unknown;
}

const UNPARSED_LIMIT = 256 * 1024;

function parseChunk(data: string): Chunk | undefined {
  try {
    return JSON.parse(data) as Chunk;
  } catch {
    return undefined;
  }
}

/** Characters of visible output in one chunk: content and tool-call arguments. */
function producedBy(chunk: Chunk): number {
  let n = 0;
  for (const choice of chunk.choices ?? []) {
    n += choice.delta?.content?.length ?? 0;
    for (const call of choice.delta?.tool_calls ?? []) n += call.function?.arguments?.length ?? 0;
  }
  return n;
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

export function relayStream(
  ctx: ProxyContext,
  answer: Answer,
  billing: Billing,
  options: {
    clientWantsUsage: boolean;
    /** The Node ServerResponse to write to directly (HTTP on @hono/node-server); see sink.ts. */
    direct?: object;
  },
): Response {
  let sink: Sink;
  let response: Response;
  if (options.direct) {
    const node = new NodeSink();
    pendingNodeSinks.set(options.direct, node);
    sink = node;
    // Carries status and headers through Hono's middleware; server.ts writes them with the bytes.
    response = new Response(null, { status: 200, headers: SSE_HEADERS });
  } else {
    const web = webSink();
    sink = web.sink;
    response = new Response(web.body, { headers: SSE_HEADERS });
  }
  // Events re-serialized from one upstream read, sent as one chunk (one write per upstream read).
  let pending = "";
  const queue = (text: string) => {
    pending += text;
  };
  const flush = () => {
    if (pending) sink.write(pending);
    pending = "";
  };
  // When the client asked for usage the upstream bytes are forwarded untouched and only observed.
  const passThrough = options.clientWantsUsage;

  const pump = async () => {
    ctx.metrics.activeStreams.inc();
    let usage: Usage | undefined;
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
          if (!passThrough) queue("data: [DONE]\n\n");
          return;
        }
        // Only the first chunk (its id) and usage chunks are parsed on the way through. The others
        // matter only for the no-usage estimate, so their text is kept and counted if the stream
        // ends without usage (bounded: counted every UNPARSED_LIMIT characters).
        if (id !== undefined && !USAGE_OBJECT.test(data)) {
          unparsed.push(data);
          unparsedChars += data.length;
          if (unparsedChars > UNPARSED_LIMIT) countUnparsed();
        } else {
          const chunk = parseChunk(data);
          if (chunk) {
            id ??= chunk.id;
            producedChars += producedBy(chunk);
            if (USAGE_OBJECT.test(data)) {
              usage = readUsage(chunk.usage) ?? usage;
              if (!options.clientWantsUsage && (chunk.choices?.length ?? 0) === 0) return;
            }
          }
        }
        if (!passThrough)
          queue(event.event ? `event: ${event.event}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
      },
    });
    // One idle timer per stream, re-armed with refresh() (no timer allocation per chunk).
    const idle = setTimeout(() => answer.abort(), answer.route.retry.timeout_ms);
    let cut = false;
    try {
      const decoder = new StringDecoder("utf8");
      await forEachChunk(answer.call, (value) => {
        idle.refresh();
        if (passThrough) sink.write(value);
        parser.feed(decoder.write(value));
        flush();
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
    if (cut) {
      ctx.metrics.upstreamErrors.inc({ provider: answer.route.provider, reason: "stream_cut" });
      sink.write(
        `data: ${JSON.stringify({ error: { message: "the upstream stream ended early", type: "upstream_error", param: null, code: "stream_cut" } })}\n\n`,
      );
    }
    await settleReservation(ctx, { ...billing, cost, usage, reason });
    await answer.call
      .finish?.({ id, usage, headers: answer.call.response.headers })
      .catch((e) => ctx.logger.warn({ err: (e as Error).message }, "upstream finish hook failed"));
    ctx.metrics.activeStreams.dec();
    sink.end();
  };

  const running = pump();
  ctx.inflight.add(running);
  running.finally(() => ctx.inflight.delete(running));
  return response;
}
