// One settlement pass outside a proxy (`npm run settle`): the same ledger, chain, signer and operator
// account the proxy's config names, the same worker, the same leader lease, so a pass from the
// command line (or cron, with settle.enabled off on the proxies) and a proxy's worker never run at once.
import { hostname } from "node:os";
import { Registry } from "prom-client";
import { chainFor, defaultStorePath } from "../app.js";
import { ConfigError, type ProxyConfig } from "../config.js";
import { ConversationService } from "../conversations.js";
import { ApiError } from "../errors.js";
import { createLogger, type Logger } from "../logger.js";
import { createScaleOut } from "../nats/scaleout.js";
import { loadRefundSigner } from "../refunds/signer.js";
import { SqliteStore } from "../store/sqlite.js";
import { SettlementService } from "./service.js";
import type { PassReport } from "./types.js";

export interface SettleOnceOptions {
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** Why a pass could not run, and what to do about it. */
export class SettleOnceError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export async function settleOnce(config: ProxyConfig, options: SettleOnceOptions = {}): Promise<PassReport> {
  if (config.chain.type === "memory")
    throw new ConfigError("chain.type is memory: its escrows live inside the proxy process, not on a chain");
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger("warn", process.stderr);
  const scaleOut = await createScaleOut(
    { ...config, nats: { ...config.nats, transport: false }, jobs: { ...config.jobs, enabled: false } },
    { logger, needStore: true },
  );
  const store =
    scaleOut.store ??
    new SqliteStore({
      path: defaultStorePath(config),
      synchronous: config.store.synchronous,
      contractId: config.chain.contract_id,
    });
  // Settlement is on for this run whatever the proxies' setting (cron mode turns theirs off).
  const forced = { ...config, settle: { ...config.settle, enabled: true } };
  const chain = chainFor(forced);
  const service = new SettlementService(
    {
      config: forced,
      store,
      chain,
      conversations: new ConversationService(store, chain),
      logger,
      signer: loadRefundSigner(env, config.refund.signer_key_file),
      metrics: { registry: new Registry() },
    },
    { env, instanceId: `settle@${hostname()}` },
  );
  try {
    if (!service.active)
      throw new SettleOnceError(
        `operator settlement cannot run: ${service.inactiveReason}`,
        "set the refund signer key (AIPROXY_REFUND_SIGNER_KEY) and the operator account (settle.operator_account_id with AIPROXY_OPERATOR_KEY or settle.operator_key_file), as the proxy has them",
      );
    return await service.passNow({ dryRun: options.dryRun ?? false });
  } catch (e) {
    if (e instanceof ApiError && e.code === "not_settlement_leader")
      throw new SettleOnceError(
        e.message.replace(/; ask it.*$/, ""),
        `a running proxy settles every ${config.settle.interval / 1000} s; see what is due with --dry-run, or run passes from here (cron) with settle.enabled: false on the proxies`,
      );
    throw e;
  } finally {
    await service.lease.stop();
    await store.dispose();
    await scaleOut.close();
  }
}
