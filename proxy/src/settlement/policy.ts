// When the operator settles a conversation, and what it does next with one in progress: pure rules,
// no I/O (the worker reads the ledger and the chain, this decides). Two clocks: the idle rule runs on
// the proxy's clock (ms, injectable for tests), the expiry rule on the chain's (block time, ns),
// because reclaim_expired_conversation is judged by block time.
import { type ConversationState, isFinalPayout, type Payout } from "../store/types.js";

const NS_PER_MS = 1_000_000n;

export interface SettleRules {
  idleAfterMs: number;
  beforeExpiryMs: number;
  minSpent: bigint;
  retryInitialMs: number;
  retryMaxMs: number;
}

export type Decision =
  /** Nothing to do yet; `at` is when the idle or expiry rule will fire (ns, chain time), if known. */
  | { action: "wait"; at?: bigint; why: string }
  /** Close, sign and submit (or resume a claimed or submitted payout). */
  | { action: "settle"; reason: "idle" | "expiry"; urgency: bigint }
  /** Spent less than min_spent and its expiry is near: close it and leave it to its opener. */
  | { action: "skip"; urgency: bigint };

/** The idle clock: last activity, or when the ledger first saw the conversation. */
export const activeAt = (state: ConversationState): number => state.active_at ?? state.created_at;

/** The chain time (ns) from which the expiry rule applies; undefined for pre-v2 ledger entries. */
export function expirySettleAt(state: ConversationState, rules: SettleRules): bigint | undefined {
  if (!state.escrow) return undefined;
  return state.escrow.expires_at - BigInt(rules.beforeExpiryMs) * NS_PER_MS;
}

/**
 * When the worker will act on this conversation if nothing else happens (ns since the epoch, the
 * idle part converted from the proxy's clock), and why: what the API shows its users.
 */
export function settleAt(
  state: ConversationState,
  rules: SettleRules,
): { at: bigint; reason: "idle" | "expiry" } | undefined {
  if (isFinalPayout(state.payout)) return undefined;
  const expiry = expirySettleAt(state, rules);
  const idle =
    state.spent >= rules.minSpent ? BigInt(activeAt(state) + rules.idleAfterMs) * NS_PER_MS : undefined;
  if (idle !== undefined && (expiry === undefined || idle < expiry)) return { at: idle, reason: "idle" };
  return expiry === undefined ? undefined : { at: expiry, reason: "expiry" };
}

export interface Clocks {
  /** The proxy's clock, ms. */
  nowMs: number;
  /** The chain's latest final block time, ns. */
  chainNowNs: bigint;
}

/**
 * The decision for one conversation of the work list. `urgency` orders a pass: the nearest
 * expiry first (a conversation past it can still be settled until its opener reclaims it).
 */
export function decide(state: ConversationState, rules: SettleRules, clocks: Clocks): Decision {
  const payout = state.payout;
  if (isFinalPayout(payout)) return { action: "wait", why: `finished (${payout!.state})` };
  const urgency = state.escrow ? state.escrow.expires_at : BigInt(Number.MAX_SAFE_INTEGER) * NS_PER_MS;
  if (payout?.next_attempt_at !== undefined && payout.next_attempt_at > clocks.nowMs)
    return {
      action: "wait",
      at: BigInt(payout.next_attempt_at) * NS_PER_MS,
      why: `retrying after: ${payout.last_error ?? "an error"}`,
    };
  // Taken already (by this worker before a restart, or by a leader that died): finish it.
  if (payout) return { action: "settle", reason: payout.reason, urgency };

  const expiry = expirySettleAt(state, rules);
  const expiring = expiry !== undefined && clocks.chainNowNs >= expiry;
  const worth = state.spent >= rules.minSpent;
  if (expiring) return worth ? { action: "settle", reason: "expiry", urgency } : { action: "skip", urgency };
  if (!worth)
    return {
      action: "wait",
      ...(expiry !== undefined ? { at: expiry } : {}),
      why: `spent ${state.spent} < min_spent ${rules.minSpent}: left to its opener`,
    };
  // Requests in flight (or a dead replica's reservation, billed by the refund's wait): not idle.
  if (state.reserved > 0n) return { action: "wait", why: `${state.reserved} reserved by requests in flight` };
  const idleAt = activeAt(state) + rules.idleAfterMs;
  if (clocks.nowMs >= idleAt) return { action: "settle", reason: "idle", urgency };
  const at = BigInt(idleAt) * NS_PER_MS;
  return { action: "wait", at: expiry !== undefined && expiry < at ? expiry : at, why: "active" };
}

/**
 * The next try after `attempts` failures: retry_initial doubled per attempt up to retry_max, with
 * full jitter in the upper half so a leader's retries after an outage do not arrive in step.
 */
export function retryDelayMs(attempts: number, rules: SettleRules, random = Math.random): number {
  const exp = Math.min(rules.retryMaxMs, rules.retryInitialMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** A payout after a failed try: same state, one more attempt, the error, the next try's time. */
export function failed(
  payout: Payout,
  error: string,
  rules: SettleRules,
  nowMs: number,
  changes: Partial<Payout> = {},
): Payout {
  const attempts = payout.attempts + 1;
  return {
    ...payout,
    ...changes,
    attempts,
    last_error: error.slice(0, 500),
    next_attempt_at: nowMs + retryDelayMs(attempts, rules),
    updated_at: nowMs,
  };
}
