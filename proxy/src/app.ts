// Builds the Hono app and its context: store, chain, upstreams, signer, metrics, recovery.
import { setMaxListeners } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Hono, type MiddlewareHandler } from "hono";
import { bearerSecret, conversationIdFromSecret } from "./auth.js";
import { MemoryChainClient } from "./chain/memory.js";
import { NearChainClient } from "./chain/near.js";
import type { ChainClient } from "./chain/types.js";
import { ConfigError, corsOrigins, dataDir, type ProxyConfig, storePath } from "./config.js";
import type { ProxyContext } from "./context.js";
import { ConversationService } from "./conversations.js";
import { ApiError, errorReply, errors } from "./errors.js";
import { rememberConversationId } from "./http/authed.js";
import { nodeBindings } from "./http/body.js";
import { corsMiddleware } from "./http/cors.js";
import { loadOperatorToken } from "./http/operator-auth.js";
import { claimIdentity, type Identity } from "./identity.js";
import { InflightTracker } from "./inflight.js";
import { createLogger, type Logger, scrubLogs } from "./logger.js";
import { allowedFields, OPENAI_CHAT_FIELDS } from "./metering/fields.js";
import { loadTokenizers, tokenizerForModel } from "./metering/tokens.js";
import { createMetrics } from "./metrics.js";
import { createScaleOut } from "./nats/scaleout.js";
import { recoverStaleReservations } from "./recovery.js";
import { loadRefundSigner } from "./refunds/signer.js";
import { ResponseStore } from "./responses/store.js";
import { chatRoutes } from "./routes/chat.js";
import { conversationRoutes } from "./routes/conversations.js";
import { embeddingRoutes } from "./routes/embeddings.js";
import { modelRoutes } from "./routes/models.js";
import { operatorRoutes } from "./routes/operator.js";
import { opsRoutes } from "./routes/ops.js";
import { responseRoutes } from "./routes/responses.js";
import { buildUpstreams } from "./routing/registry.js";
import { configuredSecrets, Scrubber } from "./secrets/index.js";
import { type SettlementOptions, SettlementService } from "./settlement/service.js";
import { SqliteStore } from "./store/sqlite.js";
import type { ConversationStore } from "./store/types.js";
import type { Upstream } from "./upstreams/types.js";

export interface CreateProxyOptions {
  /** Defaults to config.chain (near RPC, or the in-memory demo chain). */
  chain?: ChainClient;
  /** Defaults to the SQLite store at config.store.path. */
  store?: ConversationStore;
  /** Upstream instances by provider name, replacing what config.providers would build. */
  upstreams?: Record<string, Upstream>;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Register Node's default process metrics (off in tests: several proxies share a process). */
  defaultMetrics?: boolean;
  /** Operator settlement: an injected operator account, an injected idle clock (tests). */
  settlement?: Omit<SettlementOptions, "env">;
}

export interface AiProxy {
  app: Hono;
  /** `env` is @hono/node-server's `{incoming, outgoing}` when serving HTTP (see server.ts). */
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  context: ProxyContext;
  /** Stops new work, waits for in-flight requests (up to timeoutMs) to settle, closes the store. */
  close(timeoutMs?: number): Promise<void>;
}

export function chainFor(config: ProxyConfig): ChainClient {
  if (config.chain.type === "memory") {
    const chain = new MemoryChainClient();
    for (const c of config.chain.conversations) chain.open(c.secret, BigInt(c.amount), c.receiver_id);
    return chain;
  }
  return new NearChainClient({
    rpcUrl: config.chain.rpc_url,
    contractId: config.chain.contract_id,
    timeoutMs: config.chain.timeout_ms,
  });
}

export async function createProxy(config: ProxyConfig, options: CreateProxyOptions = {}): Promise<AiProxy> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger(config.log_level);
  const scrubber = new Scrubber(configuredSecrets(config, env));
  if (!scrubLogs(logger, scrubber))
    logger.warn("the logger was not made by createLogger: its lines are not scrubbed of secret values");
  // Scale-out: NATS connection, JetStream store, NATS transport and jobs, when configured.
  const scaleOut = await createScaleOut(config, { logger, needStore: options.store === undefined });
  const store =
    options.store ??
    scaleOut.store ??
    new SqliteStore({
      path: defaultStorePath(config),
      synchronous: config.store.synchronous,
      contractId: config.chain.contract_id,
    });
  // Unique per live process on this ledger (T20): refuses to start on an identity held by another.
  let identity: Identity;
  try {
    identity = await claimIdentity(store, {
      configured: config.instance_id,
      dataDir: dataDir(config),
      logger,
    });
  } catch (e) {
    await store.dispose();
    await scaleOut.close();
    throw e;
  }
  const chain = options.chain ?? chainFor(config);
  const upstreams = await buildUpstreams(config.providers, env, options.upstreams);
  // Exact prompt counts for the last requests of a conversation: loaded now, not on a request.
  await loadTokenizers(config.models.map((m) => m.tokenizer ?? tokenizerForModel(m.id)));
  const context: ProxyContext = {
    config,
    instanceId: identity.id,
    store,
    chain,
    conversations: new ConversationService(store, chain, config.abuse),
    logger,
    metrics: createMetrics(options.defaultMetrics ?? false),
    upstreams,
    models: new Map(config.models.map((m) => [m.id, m])),
    requestFields: requestFieldsOf(config, upstreams),
    scrubber,
    signer: loadRefundSigner(env, config.refund.signer_key_file),
    responses: new ResponseStore({
      ttlMs: config.responses.store_ttl_ms,
      maxEntries: config.responses.store_max_entries,
      maxBytes: config.responses.store_max_bytes,
    }),
    shutdown: unboundedController(),
    inflight: new InflightTracker(),
  };
  await recoverStaleReservations(store, identity.id, logger);
  logger.info({ instance_id: identity.id, contract_id: config.chain.contract_id }, "ledger claimed");
  if (!context.signer) logger.warn("no refund signer key configured: /v1/conversations/refund answers 503");
  const operatorToken = loadOperatorToken(env, config.operator.token_file);
  const settlement = new SettlementService(context, { ...options.settlement, env, instanceId: identity.id });
  context.settlement = settlement;

  const app = new Hono();
  const origins = corsOrigins(config);
  if (origins.length > 0) app.use("*", corsMiddleware(origins));
  app.use("/v1/*", firstSightGate(context));
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath && c.req.routePath !== "*" ? c.req.routePath : "unmatched";
    context.metrics.requests.inc({ route, status: String(c.res.status) });
    context.metrics.latency.observe({ route }, (performance.now() - started) / 1000);
  });
  opsRoutes(app, context);
  modelRoutes(app, context);
  chatRoutes(app, context);
  responseRoutes(app, context);
  embeddingRoutes(app, context);
  conversationRoutes(app, context);
  operatorRoutes(app, context, operatorToken);
  await scaleOut.start(context, app); // scale-out: /v1/jobs, NATS subjects, job worker
  settlement.start();

  app.notFound((c) => c.json(errors.routeNotFound(c.req.method, c.req.path).toJSON(), 404));
  app.onError((err, c) => {
    // Unexpected: log the message only (never request headers); the reply carries no internals.
    if (!(err instanceof ApiError))
      logger.error({ err: err.message, stack: err.stack, path: c.req.path }, "unhandled error");
    const { status, body, headers } = errorReply(err);
    return c.json(body, status, headers);
  });

  return {
    app,
    fetch: (request, env) => app.fetch(request, env),
    context,
    async close(timeoutMs = 10_000) {
      context.shutdown.abort();
      await settlement.stop(timeoutMs);
      await scaleOut.stop(timeoutMs); // scale-out: no new NATS requests or jobs
      await context.inflight.drain(timeoutMs);
      for (const u of context.upstreams.values()) await u.close?.().catch(() => {});
      await identity.release();
      await store.dispose();
      await scaleOut.close(); // scale-out
    },
  };
}

/**
 * T23: a request for a conversation this process has not seen spends one of its client's first-sight
 * tokens (ConversationService.gate) before any body is read or chain asked. Requests without a
 * well-formed bearer go on to the route, which answers 401.
 */
function firstSightGate(ctx: ProxyContext): MiddlewareHandler {
  const header = ctx.config.abuse.client_ip_header;
  return async (c, next) => {
    const auth = c.req.header("authorization");
    if (auth) {
      let id: string | undefined;
      try {
        id = conversationIdFromSecret(bearerSecret(auth));
      } catch {
        id = undefined;
      }
      if (id) {
        rememberConversationId(c, id);
        const forwarded = header ? c.req.header(header)?.split(",")[0]?.trim() : undefined;
        ctx.conversations.gate(
          id,
          forwarded || nodeBindings(c.env)?.incoming.socket.remoteAddress || "local",
        );
      }
    }
    await next();
  };
}

/**
 * The SQLite file: the configured one, else one per contract. A ledger at the old shared default
 * (./.aiproxy/ledger.sqlite) is never silently left behind for a fresh one: that would serve its
 * conversations again from zero and over-refund them.
 */
export function defaultStorePath(config: ProxyConfig): string {
  const path = storePath(config);
  const legacy = join(".aiproxy", "ledger.sqlite");
  if (config.store.path === undefined && existsSync(legacy) && !existsSync(path))
    throw new ConfigError(
      `found a ledger at the old default ${legacy}; ledgers are now one per contract: move it to ${path} (if it is ${config.chain.contract_id}'s) or set store.path`,
    );
  return path;
}

/** Per model: the fields every one of its providers forwards (adapter's list + config extras). */
function requestFieldsOf(
  config: ProxyConfig,
  upstreams: Map<string, Upstream>,
): Map<string, ReadonlySet<string>> {
  const byProvider = new Map(
    config.providers.map((p) => [
      p.name,
      [...(upstreams.get(p.name)?.requestFields ?? OPENAI_CHAT_FIELDS), ...p.extra_fields],
    ]),
  );
  return new Map(
    config.models.map((m) => [m.id, allowedFields(m.providers.map((name) => byProvider.get(name) ?? []))]),
  );
}

/** Every in-flight upstream attempt listens on the shutdown signal: no listener cap warning. */
function unboundedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
