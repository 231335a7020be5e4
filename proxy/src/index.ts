// Public surface of the proxy.
export { type AiProxy, type CreateProxyOptions, createProxy } from "./app.js";
export { conversationIdFromSecret } from "./auth.js";
export { MemoryChainClient } from "./chain/memory.js";
export { NearChainClient } from "./chain/near.js";
export type { ChainClient } from "./chain/types.js";
export { ChainUnavailableError } from "./chain/types.js";
export {
  ConfigError,
  flagKey,
  loadConfig,
  type ProxyConfig,
  type ProxyConfigInput,
  parseConfig,
  settings,
} from "./config.js";
export { ApiError } from "./errors.js";
export { costOf, priceOf } from "./metering/prices.js";
export { type RunningProxy, startProxy } from "./server.js";
export { SettleOnceError, type SettleOnceOptions, settleOnce } from "./settlement/standalone.js";
export type { PassEntry, PassReport } from "./settlement/types.js";
export { SqliteStore } from "./store/sqlite.js";
export type {
  ConversationState,
  ConversationStore,
  NewConversation,
  Reservation,
  ReserveResult,
  Settlement,
} from "./store/types.js";
export type {
  ModelInfo,
  NodeUpstreamCall,
  Upstream,
  UpstreamApi,
  UpstreamCall,
  UpstreamChatRequest,
  UpstreamHead,
  UpstreamRequest,
  Usage,
  WebUpstreamCall,
} from "./upstreams/types.js";
export { UpstreamError } from "./upstreams/types.js";
