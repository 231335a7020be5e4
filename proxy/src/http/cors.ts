// CORS for browser clients of the OpenAI SDKs. Hand-written instead of hono/cors for one semantic:
// the official `openai` SDK sends a family of `x-stainless-*` headers (os, arch, runtime, retry
// count, timeout, helper names: the set grows with SDK versions), so request headers are allowed by
// name OR by prefix; hono/cors takes a fixed list or reflects anything. Origins stay an explicit list
// (`*` only when configured, the development default), and the proxy's cost and balance headers are
// exposed to scripts.
import type { MiddlewareHandler } from "hono";
import { BALANCE_HEADERS } from "./balance-headers.js";

/** Request headers browsers may send: the OpenAI SDKs', OpenRouter-style attribution, and ours. */
export const ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "accept",
  "openai-organization",
  "openai-project",
  "openai-beta",
  "idempotency-key",
  "x-request-id",
  "x-title",
  "http-referer",
];
export const ALLOWED_HEADER_PREFIXES = ["x-stainless-"];
const EXPOSED = [...BALANCE_HEADERS, "retry-after", "x-request-id"].join(", ");

export function headerAllowed(name: string): boolean {
  const n = name.trim().toLowerCase();
  return ALLOWED_HEADERS.includes(n) || ALLOWED_HEADER_PREFIXES.some((p) => n.startsWith(p));
}

export function corsMiddleware(origins: string[]): MiddlewareHandler {
  const any = origins.includes("*");
  return async (c, next) => {
    const origin = c.req.header("origin");
    const allowed = origin !== undefined && (any || origins.includes(origin));
    if (c.req.method === "OPTIONS" && origin !== undefined && c.req.header("access-control-request-method")) {
      const headers = new Headers({ vary: "Origin" });
      if (allowed) {
        const requested = (c.req.header("access-control-request-headers") ?? "")
          .split(",")
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean);
        headers.set("access-control-allow-origin", any ? "*" : origin);
        headers.set("access-control-allow-methods", "GET, POST, OPTIONS");
        // Only the requested headers we allow: a header outside the list fails the preflight.
        headers.set("access-control-allow-headers", requested.filter(headerAllowed).join(", "));
        headers.set("access-control-max-age", "600");
      }
      return new Response(null, { status: 204, headers });
    }
    await next();
    if (allowed) {
      c.res.headers.set("access-control-allow-origin", any ? "*" : origin);
      c.res.headers.set("access-control-expose-headers", EXPOSED);
      if (!any) c.res.headers.append("vary", "Origin");
    }
  };
}
