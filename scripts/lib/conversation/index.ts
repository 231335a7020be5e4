// The conversation CLI's library: scripts/conversation.ts parses flags and calls these.
export { type CommonOptions, context } from "./context.js";
export { reclaim, refund } from "./end.js";
export { explain } from "./explain.js";
export { open, parseDuration } from "./open.js";
export { DEFAULT_SECRETS_DIR } from "./secrets.js";
export { list, status } from "./status.js";
