// HTTP job API: POST /v1/jobs (a chat request; 202 with the job), GET /v1/jobs/{id}.
import type { Hono } from "hono";
import { bearerSecret, conversationIdFromSecret } from "../auth.js";
import type { ProxyContext } from "../context.js";
import { readJsonObject } from "../http/body.js";
import type { JobService } from "./service.js";

export function jobRoutes(app: Hono, ctx: ProxyContext, jobs: JobService): void {
  app.post("/v1/jobs", async (c) => {
    const id = conversationIdFromSecret(bearerSecret(c.req.header("authorization")));
    const body = await readJsonObject(c.req.raw, ctx.config.max_body_bytes);
    return c.json(await jobs.submit(id, body), 202);
  });

  app.get("/v1/jobs/:id", async (c) => {
    const id = conversationIdFromSecret(bearerSecret(c.req.header("authorization")));
    return c.json(await jobs.get(id, c.req.param("id")));
  });
}
