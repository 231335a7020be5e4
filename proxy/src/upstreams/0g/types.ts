// Types the 0G adapter's parts share (discovery makes a ProviderState, funding keeps it funded, the
// adapter counts into ZeroGStats).
import type { Service } from "./chain.js";

/** A provider the adapter has checked: trusted, reachable, acknowledged, with its request endpoint. */
export interface ProviderState {
  service: Service;
  /** `${service.url}/v1/proxy`: where OpenAI-shaped requests go. */
  endpoint: string;
  /** When the sub-account balance was last found sufficient (ms); 0 forces a check. */
  checkedAt: number;
}

export interface ZeroGStats {
  requests: number;
  processed: number;
  verified: number;
  unverified: number;
  /** Fees computed from usage at the provider's prices (wei), what the provider will settle. */
  feesWei: bigint;
  topUps: number;
  transfers: number;
}
