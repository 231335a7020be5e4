// Reads a JSON request body with a hard byte limit: 413 above it, 400 for anything not a JSON object.
// On @hono/node-server the body is read from the IncomingMessage itself (no web stream per request).
import { IncomingMessage, ServerResponse } from "node:http";
import { errors } from "../errors.js";
import type { DirectReplySlot } from "../relay/sink.js";

export async function readJsonObject(request: Request, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw errors.tooLarge(limit);
  return parseJsonObject(await readLimited(request, limit));
}

export interface NodeBindings {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
  /** Present when server.ts serves the request: where a direct stream leaves its sink. */
  direct?: DirectReplySlot;
}

/** The Node request/response pair when the app runs on @hono/node-server over HTTP/1.1. */
export function nodeBindings(env: unknown): NodeBindings | undefined {
  const e = env as { incoming?: unknown; outgoing?: unknown; direct?: DirectReplySlot } | undefined;
  if (!(e?.incoming instanceof IncomingMessage && e.outgoing instanceof ServerResponse)) return undefined;
  return { incoming: e.incoming, outgoing: e.outgoing, ...(e.direct ? { direct: e.direct } : {}) };
}

/** readJsonObject for a Node IncomingMessage whose body nothing has read yet. */
export async function readJsonObjectFrom(
  incoming: IncomingMessage,
  limit: number,
): Promise<Record<string, unknown>> {
  const declared = Number(incoming.headers["content-length"] ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw errors.tooLarge(limit);
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        // Stop buffering; the adapter drains or closes the rest after the 413 is sent.
        incoming.off("data", onData);
        incoming.pause();
        reject(errors.tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    incoming.on("data", onData);
    incoming.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    incoming.once("error", reject);
    incoming.once("close", () => {
      if (!incoming.complete) reject(errors.badRequest("request body incomplete", null, "invalid_json"));
    });
  });
  return parseJsonObject(text);
}

/**
 * Deepest nesting accepted (T23). OpenAI request bodies (messages, tool schemas) stay far below it;
 * a 10,000-deep body is refused before JSON.parse or any validator recurses through it.
 */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of a JSON text, stopping as soon as it passes max (strings skipped). */
function deeperThan(text: string, max: number): boolean {
  // A text shorter than 2 x max cannot open max + 1 levels and close them: no scan.
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** A JSON object or the 400 every transport answers (empty, malformed, too deep, not an object). */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === "")
    throw errors.badRequest("request body is empty; send a JSON object", null, "invalid_json");
  if (deeperThan(text, MAX_JSON_DEPTH)) throw errors.jsonTooDeep(MAX_JSON_DEPTH);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw errors.malformedJson();
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw errors.badRequest("request body must be a JSON object", null, "invalid_json");
  }
  return parsed as Record<string, unknown>;
}

async function readLimited(request: Request, limit: number): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw errors.tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
