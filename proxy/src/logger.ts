// pino with redaction: bearer secrets, API keys and signer keys never reach a log line (T13).
import { type Logger, pino } from "pino";

export const redactPaths = [
  "authorization",
  "headers.authorization",
  'headers["api-key"]',
  "req.headers.authorization",
  'req.headers["api-key"]',
  "secret",
  "*.secret",
  "api_key",
  "*.api_key",
  "apiKey",
  "*.apiKey",
  "signer_key",
  "*.signer_key",
  "privateKey",
  "*.privateKey",
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: "aiproxy" }, redact: { paths: redactPaths, censor: "[redacted]" } },
    destination ?? process.stdout,
  );
}

export type { Logger };
