// The operator API's token: AIPROXY_OPERATOR_TOKEN (env) or operator.token_file, never a config
// value, never logged. Checked in constant time over sha256 digests (no length leak); without a
// token configured the operator routes do not exist (404). Conversation secrets never pass: they
// are the users' keys, the operator token is the operator's.
import { createHash, timingSafeEqual } from "node:crypto";
import { createMiddleware } from "hono/factory";
import { errors } from "../errors.js";
import { readSecretFile } from "../secret-file.js";

export const OPERATOR_TOKEN_ENV = "AIPROXY_OPERATOR_TOKEN";
const MIN_LENGTH = 24;

export function loadOperatorToken(env: NodeJS.ProcessEnv, file?: string): string | undefined {
  let token = env[OPERATOR_TOKEN_ENV]?.trim();
  if (!token && file) {
    token = readSecretFile(file, "operator.token_file");
  }
  if (!token) return undefined;
  if (token.length < MIN_LENGTH || /\s/.test(token))
    throw new Error(
      `the operator token (${OPERATOR_TOKEN_ENV} or operator.token_file) must be at least ${MIN_LENGTH} characters without spaces, e.g. \`openssl rand -hex 32\``,
    );
  return token;
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

export function operatorAuth(token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return createMiddleware(async (c, next) => {
    if (!expected) throw errors.operatorApiOff();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) throw errors.operatorUnauthorized();
    await next();
  });
}
