// The settlement leader's lease, kept in the ledger itself as the replica identities are (an SQLite
// row, a JetStream KV key taken by compare-and-set, store/types.ts InstanceLease, id "@settlement"),
// so whatever shares the ledger agrees on one leader: proxies, and a `npm run settle` pass. Renewed
// every ttl/3 on the platform's timer; a leader that cannot renew stops leading at its own expiry,
// before anyone else may start. A dead holder's lease is taken over at once on the same host (its pid
// is gone) and after its ttl elsewhere. Exactly-once does not rest on the lease (each payout step is
// an atomic ledger update, and the same signed bytes are what gets re-sent); the lease keeps two
// leaders from doing the same work.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { alive } from "../identity.js";
import type { Logger } from "../logger.js";
import type { ConversationStore, InstanceLease } from "../store/types.js";

/** Instance ids are never "@…" (config.ts refuses them), so this id is nobody's identity. */
export const LEASE_ID = "@settlement";

export interface LeaderLeaseOptions {
  instanceId: string;
  ttlMs: number;
  logger: Logger;
  onChange?: (leader: boolean) => void;
}

export class LeaderLease {
  readonly nonce = randomUUID();
  readonly #startedAt = Date.now();
  #until = 0;
  #timer: NodeJS.Timeout | undefined;
  #held: InstanceLease | undefined;
  #leading = false;

  constructor(
    private readonly store: ConversationStore,
    private readonly options: LeaderLeaseOptions,
  ) {}

  /** True while this process's lease is live, with a margin for the clock of whoever checks next. */
  isLeader(): boolean {
    return Date.now() < this.#until - Math.min(1000, this.options.ttlMs / 10);
  }

  /** Who held the lease at the last claim (this process when leading). */
  holderInfo(): InstanceLease | undefined {
    return this.#held;
  }

  #lease(): InstanceLease {
    return {
      id: LEASE_ID,
      nonce: this.nonce,
      host: hostname(),
      pid: process.pid,
      started_at: this.#startedAt,
      expires_at: Date.now() + this.options.ttlMs,
      instance_id: this.options.instanceId,
    };
  }

  /** One claim or renewal; false when someone else leads. */
  async claim(): Promise<boolean> {
    const asked = this.#lease();
    let result = await this.store.claimInstance(asked);
    if (!result.ok && result.held.host === hostname() && !alive(result.held.pid)) {
      this.options.logger.warn(
        { pid: result.held.pid, instance_id: result.held.instance_id },
        "taking over the settlement lease of a dead process",
      );
      result = await this.store.claimInstance(this.#lease(), result.held.nonce);
    }
    this.#held = result.ok ? asked : result.held;
    this.#until = result.ok ? asked.expires_at : 0;
    this.#changed();
    return this.isLeader();
  }

  #changed(): void {
    const now = this.isLeader();
    if (now === this.#leading) return;
    this.#leading = now;
    this.options.onChange?.(now);
  }

  /** Renews every ttl/3 until stop() (claim() once first). */
  start(): void {
    const tick = () =>
      this.claim().catch((e) => {
        this.options.logger.warn({ err: (e as Error).message }, "settlement lease renewal failed");
        this.#changed();
      });
    this.#timer = setInterval(tick, Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    const was = this.isLeader();
    this.#until = 0;
    this.#changed();
    if (was) await this.store.releaseInstance(this.#lease()).catch(() => {});
  }
}
