// Reads a JSON request body with a hard byte limit: 413 above it, 400 for anything not a JSON object.
import { errors } from "../errors.js";

export async function readJsonObject(request: Request, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw errors.tooLarge(limit);
  const text = await readLimited(request, limit);
  if (text.trim() === "")
    throw errors.badRequest("request body is empty; send a JSON object", null, "invalid_json");
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
