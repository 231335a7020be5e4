// Reading an upstream answer's body whichever way the adapter delivered it: a Node stream
// (`UpstreamCall.raw`, node:http adapters) or the web Response body (fetch-based adapters).
import type { UpstreamCall } from "../upstreams/types.js";

/** The whole body as text; rejects when the body is cut. */
export async function upstreamText(call: UpstreamCall): Promise<string> {
  if (!call.raw) return call.response.text();
  const chunks: Buffer[] = [];
  for await (const chunk of call.raw) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Feeds every body chunk to onChunk as it arrives. Resolves when the body ended normally, rejects
 * when it was cut (socket closed early, abort, no body). Node streams are read with 'data' events
 * rather than an async iterator: one callback per chunk, no promise per chunk.
 */
export function forEachChunk(call: UpstreamCall, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const raw = call.raw;
  if (raw) {
    return new Promise<void>((resolve, reject) => {
      let ended = false;
      raw.on("data", onChunk);
      raw.once("end", () => {
        ended = true;
        resolve();
      });
      raw.once("error", reject);
      raw.once("close", () => {
        if (!ended) reject(new Error("upstream body closed before its end"));
      });
    });
  }
  const body = call.response.body;
  if (!body) return Promise.reject(new Error("upstream sent no body"));
  return (async () => {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk(value);
    }
  })();
}
