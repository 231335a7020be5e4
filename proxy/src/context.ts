// Everything a handler needs, built once by createProxy.
import type { Wallet } from "ethers";
import type { ChainClient } from "./chain/types.js";
import type { ModelConfig, ProxyConfig } from "./config.js";
import type { ConversationService } from "./conversations.js";
import type { InflightTracker } from "./inflight.js";
import type { Logger } from "./logger.js";
import type { ProxyMetrics } from "./metrics.js";
import type { ResponseStore } from "./responses/store.js";
import type { Scrubber } from "./secrets/index.js";
import type { SettlementHandle } from "./settlement/types.js";
import type { ConversationStore } from "./store/types.js";
import type { Upstream } from "./upstreams/types.js";

export interface ProxyContext {
  config: ProxyConfig;
  /** This process's instance id (identity.ts): the owner tag of its reservations. */
  instanceId: string;
  store: ConversationStore;
  chain: ChainClient;
  conversations: ConversationService;
  logger: Logger;
  metrics: ProxyMetrics;
  upstreams: Map<string, Upstream>;
  models: Map<string, ModelConfig>;
  /** Per model: the request fields all of its providers accept (metering/fields.ts). */
  requestFields: Map<string, ReadonlySet<string>>;
  /** Configured secret values, scrubbed from everything forwarded or logged (T22). */
  scrubber: Scrubber;
  signer: Wallet | undefined;
  /** Responses API: stored responses of this process (previous_response_id, item_reference). */
  responses: ResponseStore;
  /** Aborted on shutdown: stops retries and waits. */
  shutdown: AbortController;
  /** Requests still settling (streams keep running after the client left); awaited on shutdown. */
  inflight: InflightTracker;
  /** Operator settlement (settlement/): set by createProxy once the context exists. */
  settlement?: SettlementHandle;
}
