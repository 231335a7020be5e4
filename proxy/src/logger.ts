// pino with redaction: bearer secrets, API keys and signer keys never reach a log line (T13). On top
// of the field paths, every line is scrubbed by value once the proxy knows its secrets (T22): an
// upstream's error text or an exception message that quotes a key is caught whatever field holds it.
import { type Logger, pino } from "pino";
import type { Scrubber } from "./secrets/index.js";
import { scrubKeyFormats } from "./secrets/index.js";

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
  "private_key",
  "*.private_key",
  "signed_tx",
];

/** The scrubber each logger made here applies to its lines (set by createProxy). */
const scrubbers = new WeakMap<Logger, { current?: Scrubber }>();

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const holder: { current?: Scrubber } = {};
  const logger = pino(
    {
      level,
      base: { service: "aiproxy" },
      redact: { paths: redactPaths, censor: "[redacted]" },
      hooks: {
        // One line, already serialized: values first, then credential-looking strings.
        streamWrite: (line) => (holder.current ? holder.current.text(line) : scrubKeyFormats(line)),
      },
    },
    destination ?? process.stdout,
  );
  scrubbers.set(logger, holder);
  return logger;
}

/** Scrubs this logger's lines (and its children's) by the given values; false for a foreign logger. */
export function scrubLogs(logger: Logger, scrubber: Scrubber): boolean {
  const holder = scrubbers.get(logger);
  if (!holder) return false;
  holder.current = scrubber;
  return true;
}

export type { Logger };
