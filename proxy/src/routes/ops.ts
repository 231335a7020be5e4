// Liveness and Prometheus metrics.
import type { Hono } from "hono";
import type { ProxyContext } from "../context.js";

export function opsRoutes(app: Hono, ctx: ProxyContext): void {
  app.get("/healthz", (c) =>
    c.json(
      { status: ctx.shutdown.signal.aborted ? "shutting_down" : "ok" },
      ctx.shutdown.signal.aborted ? 503 : 200,
    ),
  );
  app.get("/metrics", async (c) => {
    c.header("content-type", ctx.metrics.registry.contentType);
    return c.body(await ctx.metrics.registry.metrics());
  });
}
