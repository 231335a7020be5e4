// Conversation lookup: the store first, the chain on first sight (then the store is the truth, since
// it knows what was spent). Concurrent first requests share one chain call.
// First sight is what an anonymous flood costs (T23): ids the chain did not know are remembered for
// a few seconds (a negative cache), and `gate` lets each client only so many first sights (a token
// bucket per client), so random secrets cause a bounded number of chain lookups.
import { isConversationId, parseTimestamp, parseU128 } from "#wire";
import { type ChainClient, ChainUnavailableError } from "./chain/types.js";
import { errors } from "./errors.js";
import type { ConversationState, ConversationStore } from "./store/types.js";

export interface FirstSightLimits {
  /** How long an id the chain did not know answers 404 without asking again. */
  negative_cache_ms: number;
  /** First sights a client may cause at once, and per second after that. */
  lookups_burst: number;
  lookups_per_second: number;
}

/** Bounded maps: the oldest entry goes first. */
const MAX_ENTRIES = 100_000;

function bounded<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as K);
}

export class ConversationService {
  readonly #loading = new Map<string, Promise<ConversationState>>();
  /** Ids this process has seen in its ledger (no first-sight check for them). */
  readonly #known = new Map<string, true>();
  /** Ids the chain did not know, until when. */
  readonly #missing = new Map<string, number>();
  /** Per client: tokens left and when they were counted. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly store: ConversationStore,
    private readonly chain: ChainClient,
    private readonly limits: FirstSightLimits = {
      negative_cache_ms: 10_000,
      lookups_burst: 30,
      lookups_per_second: 2,
    },
  ) {}

  /**
   * Before any work on a request from `client` for this id: known ids pass; an id the chain just
   * said it does not know is a 404 at once; otherwise the client spends one first-sight token (429
   * with Retry-After when it has none). In memory only, no I/O.
   */
  gate(conversationId: string, client: string): void {
    if (this.#known.has(conversationId)) return;
    const missing = this.#missing.get(conversationId);
    if (missing !== undefined) {
      if (missing > Date.now()) throw errors.unknownConversation();
      this.#missing.delete(conversationId);
    }
    const now = Date.now();
    const { lookups_burst: burst, lookups_per_second: rate } = this.limits;
    const b = this.#buckets.get(client) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < 1) {
      bounded(this.#buckets, client, b);
      throw errors.tooManyFirstSights(Math.ceil((1 - b.tokens) / rate));
    }
    b.tokens -= 1;
    bounded(this.#buckets, client, b);
  }

  /** The conversation's ledger state; 404 when the chain does not know it, 403 when refunded on chain. */
  async load(conversationId: string): Promise<ConversationState> {
    const known = await this.store.getConversation(conversationId);
    if (known) {
      if (!this.#known.has(conversationId)) bounded(this.#known, conversationId, true);
      return known;
    }
    const missing = this.#missing.get(conversationId);
    if (missing !== undefined && missing > Date.now()) throw errors.unknownConversation();
    let pending = this.#loading.get(conversationId);
    if (!pending) {
      pending = this.#fromChain(conversationId).finally(() => this.#loading.delete(conversationId));
      this.#loading.set(conversationId, pending);
    }
    return pending;
  }

  async #fromChain(conversationId: string): Promise<ConversationState> {
    if (!isConversationId(conversationId)) throw errors.unknownConversation();
    let view: Awaited<ReturnType<ChainClient["viewConversation"]>>;
    try {
      view = await this.chain.viewConversation(conversationId);
    } catch (e) {
      if (e instanceof ChainUnavailableError) throw errors.chainUnavailable();
      throw e;
    }
    if (!view || view.conversation_id !== conversationId) {
      bounded(this.#missing, conversationId, Date.now() + this.limits.negative_cache_ms);
      throw errors.unknownConversation();
    }
    // "expired" is still an open escrow: the proxy will not serve it (admission), but can still sign
    // its refund, which pays until the opener reclaims it.
    if (view.status !== "open" && view.status !== "expired") throw errors.conversationClosed();
    let escrow: { deposit: bigint; created_at: bigint; expires_at: bigint };
    try {
      escrow = {
        deposit: parseU128(view.deposit, "deposit"),
        created_at: parseTimestamp(view.created_at, "created_at"),
        expires_at: parseTimestamp(view.expires_at, "expires_at"),
      };
    } catch {
      throw errors.chainUnavailable(); // not an escrow v2 contract, or a broken RPC answer
    }
    bounded(this.#known, conversationId, true);
    return this.store.ensureConversation({
      conversation_id: conversationId,
      receiver_id: view.receiver_id,
      deposit: escrow.deposit,
      escrow: { created_at: escrow.created_at, expires_at: escrow.expires_at },
    });
  }
}
