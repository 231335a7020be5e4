// Validates the fields the proxy itself relies on; everything else (tools, tool_choice,
// response_format, reasoning_effort, temperature, seed, ...) passes through untouched.
import { z } from "zod";
import { errors } from "../errors.js";

const positiveInt = z.number().int().positive().max(10_000_000);

const chatRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z
    .array(
      z.looseObject({
        role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
      }),
    )
    .min(1)
    .max(10_000),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  tools: z
    .array(z.looseObject({ type: z.string() }))
    .max(512)
    .nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;

export function parseChatRequest(body: Record<string, unknown>): ChatRequest {
  return parseBody(chatRequestSchema, body);
}

/** A request body checked by a zod schema, or the 400 naming the first bad field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.length ? issue.path.join(".") : null;
  throw errors.badRequest(`invalid request: ${param ?? "body"}: ${issue.message}`, param);
}
