// The conversation CLI's library: scripts/conversation.ts parses flags and calls these.
export {
  type CommonOptions,
  context,
  list,
  open,
  parseDuration,
  reclaim,
  refund,
  status,
} from "./commands.js";
export { explain } from "./explain.js";
export { DEFAULT_SECRETS_DIR } from "./secrets.js";
