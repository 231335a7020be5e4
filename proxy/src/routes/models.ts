// GET /v1/models with context window and prices (token units per million tokens).
import type { Hono } from "hono";
import type { ProxyContext } from "../context.js";
import { errors } from "../errors.js";

export function modelRoutes(app: Hono, ctx: ProxyContext): void {
  const describe = (id: string) => {
    const m = ctx.models.get(id)!;
    return {
      id: m.id,
      object: "model",
      created: 0,
      owned_by: m.owned_by,
      context_window: m.context_window,
      pricing: {
        unit: "token base units per 1M tokens",
        input: m.input_price,
        output: m.output_price,
      },
    };
  };
  app.get("/v1/models", (c) => c.json({ object: "list", data: [...ctx.models.keys()].map(describe) }));
  app.get("/v1/models/:id{.+}", (c) => {
    const id = c.req.param("id");
    if (!ctx.models.has(id)) throw errors.unknownModel(id);
    return c.json(describe(id));
  });
}
