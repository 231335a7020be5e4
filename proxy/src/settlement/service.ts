// The settlement worker's lifecycle in a proxy (or in `npm run settle`): builds the operator account
// from the config, holds the leader lease, and runs a pass every settle.interval while it leads. One
// pass at a time per process; a pass asked for while one runs joins it.
import { setTimeout as wait } from "node:timers/promises";
import type { Registry } from "prom-client";
import { MemoryChainClient } from "../chain/memory.js";
import type { ProxyConfig } from "../config.js";
import { errors } from "../errors.js";
import { settledWithin } from "../inflight.js";
import { type RefundContext, refundConversation } from "../refunds/refund.js";
import type { ConversationState } from "../store/types.js";
import { LeaderLease } from "./lease.js";
import { MemoryOperatorChain } from "./memory-operator.js";
import { createSettlementMetrics, dropLedgerGauges, type SettlementMetrics } from "./metrics.js";
import { NearOperatorChain } from "./near-operator.js";
import { loadOperatorKey } from "./operator-key.js";
import { type SettleRules, settleAt } from "./policy.js";
import { summarize } from "./summary.js";
import type { OperatorChain, PassReport, SettlementHandle } from "./types.js";
import { type PassOptions, runPass, type WorkerDeps } from "./worker.js";

export interface SettlementOptions {
  /** The operator account (tests inject one); default: from settle.* and AIPROXY_OPERATOR_KEY. */
  operator?: OperatorChain;
  /** The idle clock, ms (tests move it instead of waiting). */
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

export interface SettlementServiceOptions extends SettlementOptions {
  /** This process's identity (identity.ts), shown as the leader's. */
  instanceId: string;
}

export function settleRules(config: ProxyConfig): SettleRules {
  const s = config.settle;
  return {
    idleAfterMs: s.idle_after,
    beforeExpiryMs: s.before_expiry,
    minSpent: BigInt(s.min_spent),
    retryInitialMs: s.retry_initial,
    retryMaxMs: s.retry_max,
  };
}

/** The operator account the config describes, or why there is none. */
export function operatorFor(
  ctx: RefundContext,
  env: NodeJS.ProcessEnv,
): { operator: OperatorChain } | { reason: string } {
  const s = ctx.config.settle;
  if (ctx.chain instanceof MemoryChainClient) {
    if (!s.operator_account_id) return { reason: "no settle.operator_account_id configured" };
    return {
      operator: new MemoryOperatorChain(ctx.chain, {
        accountId: s.operator_account_id,
        ...(ctx.signer ? { signerAddress: ctx.signer.address } : {}),
      }),
    };
  }
  const key = loadOperatorKey(env, {
    ...(s.operator_account_id ? { accountId: s.operator_account_id } : {}),
    ...(s.operator_key_file ? { keyFile: s.operator_key_file } : {}),
  });
  if (!key) return { reason: "no operator key (AIPROXY_OPERATOR_KEY or settle.operator_key_file)" };
  if (!key.accountId)
    return { reason: "no operator account (settle.operator_account_id, or account_id in the key file)" };
  return {
    operator: new NearOperatorChain({
      rpcUrl: ctx.config.chain.rpc_url,
      contractId: ctx.config.chain.contract_id,
      accountId: key.accountId,
      key: key.key,
      timeoutMs: s.rpc_timeout,
    }),
  };
}

export class SettlementService implements SettlementHandle {
  readonly active: boolean;
  readonly inactiveReason?: string;
  readonly metrics: SettlementMetrics;
  readonly operator: OperatorChain | undefined;
  readonly lease: LeaderLease;
  readonly #deps: WorkerDeps | undefined;
  readonly #rules: SettleRules;
  readonly #now: () => number;
  readonly #instanceId: string;
  readonly #abort = new AbortController();
  #running: Promise<PassReport> | undefined;
  #last: PassReport | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly ctx: RefundContext & { metrics: { registry: Registry } },
    options: SettlementServiceOptions,
  ) {
    const config = ctx.config;
    this.#rules = settleRules(config);
    this.#instanceId = options.instanceId;
    this.#now = options.now ?? Date.now;
    this.metrics = createSettlementMetrics(ctx.metrics.registry);
    this.lease = new LeaderLease(ctx.store, {
      instanceId: options.instanceId,
      ttlMs: config.settle.lease_ttl,
      logger: ctx.logger,
      onChange: (leader) => this.#leading(leader),
    });
    let reason: string | undefined;
    let operator = options.operator;
    if (!config.settle.enabled) reason = "settle.enabled is false";
    else if (!ctx.signer) reason = "no refund signer key";
    else if (!operator) {
      const built = operatorFor(ctx, options.env ?? process.env);
      if ("reason" in built) reason = built.reason;
      else operator = built.operator;
    }
    this.active = reason === undefined;
    if (reason) this.inactiveReason = reason;
    this.operator = operator;
    if (!operator || !ctx.signer || reason) return;
    this.#deps = {
      store: ctx.store,
      chain: ctx.chain,
      operator,
      logger: ctx.logger,
      metrics: this.metrics,
      contractId: config.chain.contract_id,
      rules: this.#rules,
      gasTgas: config.settle.gas_tgas,
      maxPerPass: config.settle.max_per_pass,
      signerAddress: ctx.signer.address,
      refund: (id) => refundConversation(ctx, id),
      now: this.#now,
    };
  }

  settleAt(state: ConversationState): { at: bigint; reason: "idle" | "expiry" } | undefined {
    return this.active ? settleAt(state, this.#rules) : undefined;
  }

  async passNow(options: { dryRun?: boolean } = {}): Promise<PassReport> {
    if (!this.active) throw errors.settlementOff(this.inactiveReason ?? "inactive");
    if (options.dryRun) return this.pass({ dryRun: true });
    if (!this.lease.isLeader() && !(await this.lease.claim())) {
      const held = this.lease.holderInfo();
      throw errors.notSettlementLeader(
        held ? `${held.instance_id ?? "?"}, pid ${held.pid} on ${held.host}` : "unknown",
      );
    }
    return this.pass();
  }

  async summary(): Promise<Record<string, unknown>> {
    const unsettled = await this.ctx.store.unsettledConversations();
    let chainNowNs = BigInt(this.#now()) * 1_000_000n;
    if (this.operator) chainNowNs = await this.operator.chainTime().catch(() => chainNowNs);
    const leader = this.lease.holderInfo();
    return summarize({
      contractId: this.ctx.config.chain.contract_id,
      instanceId: this.#instanceId,
      unsettled,
      rules: this.#rules,
      clocks: { nowMs: this.#now(), chainNowNs },
      settlement: {
        active: this.active,
        ...(this.inactiveReason ? { inactiveReason: this.inactiveReason } : {}),
        ...(this.operator ? { operator: this.operator.accountId } : {}),
        intervalMs: this.ctx.config.settle.interval,
      },
      leader,
      thisHolder: this.lease.nonce,
      tally: this.metrics.tally,
      lastPass: this.#last,
    });
  }

  isLeader(): boolean {
    return this.lease.isLeader();
  }

  lastPass(): PassReport | undefined {
    return this.#last;
  }

  /** Leads when it can and runs a pass every settle.interval. */
  start(): void {
    if (!this.active || this.#loop) {
      if (!this.active) this.ctx.logger.warn({ reason: this.inactiveReason }, "operator settlement is off");
      return;
    }
    this.ctx.logger.info(
      {
        operator: this.operator!.accountId,
        idle_after_ms: this.ctx.config.settle.idle_after,
        before_expiry_ms: this.ctx.config.settle.before_expiry,
      },
      "operator settlement on",
    );
    this.lease.start();
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        if (await this.lease.claim()) await this.pass();
      } catch (e) {
        this.ctx.logger.error({ err: (e as Error).message }, "settlement pass failed");
        this.metrics.passes.inc({ result: "error" });
      }
      await wait(this.ctx.config.settle.interval, undefined, { signal }).catch(() => {});
    }
  }

  /** One pass now (the leader's loop, POST /v1/operator/settle, npm run settle), after a running one. */
  async pass(options: Omit<PassOptions, "stillLeader"> = {}): Promise<PassReport> {
    const deps = this.#deps;
    if (!deps) throw errors.settlementOff(this.inactiveReason ?? "inactive");
    if (options.dryRun) return runPass(deps, { dryRun: true });
    while (this.#running) await this.#running.catch(() => {});
    const running = runPass(deps, { stillLeader: () => this.lease.isLeader() });
    this.#running = running;
    try {
      this.#last = await running;
      return this.#last;
    } finally {
      this.#running = undefined;
    }
  }

  #leading(leader: boolean): void {
    this.metrics.leader.set(leader ? 1 : 0);
    if (!leader) dropLedgerGauges(this.metrics);
    this.ctx.logger.info({ leader }, leader ? "settlement leader" : "no longer the settlement leader");
  }

  /** Stops the loop, lets a running pass finish (up to timeoutMs), gives the lease up. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#abort.abort();
    // The loop ends once a running pass does (a pass may be waiting on in-flight requests).
    await settledWithin([this.#loop], timeoutMs);
    await this.lease.stop();
  }
}
