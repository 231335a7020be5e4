// The one seam app.ts calls for scale-out: opens the NATS connection when the config asks for any
// NATS feature, provides the JetStream store, then (once the proxy context exists) serves the chat
// and job subjects, the /v1/jobs routes and the job worker. Without NATS config it does nothing.
import type { Hono } from "hono";
import type { NatsConnection, Subscription } from "nats";
import { ConfigError, type ProxyConfig, storeBucket } from "../config.js";
import type { ProxyContext } from "../context.js";
import { InflightTracker } from "../inflight.js";
import { serveJobs } from "../jobs/nats.js";
import { jobRoutes } from "../jobs/routes.js";
import { JobService } from "../jobs/service.js";
import type { Logger } from "../logger.js";
import { JetStreamStore } from "../store/jetstream.js";
import type { ConversationStore } from "../store/types.js";
import { connectNats } from "./connect.js";
import { serveChat } from "./transport.js";

export interface ScaleOut {
  /** The JetStream store when store.type is `jetstream` (and the caller did not inject a store). */
  store?: ConversationStore;
  /** Routes and subscriptions; call once the context is built. */
  start(ctx: ProxyContext, app: Hono): Promise<void>;
  /** Stops taking NATS requests and jobs; waits for running handlers and jobs. */
  stop(timeoutMs?: number): Promise<void>;
  /** Closes the connection (after the store is disposed). */
  close(): Promise<void>;
}

/**
 * T21: a server that asks no credentials lets any client join the queue group (other users' requests
 * and bearer secrets) and write the ledger bucket. Production refuses it unless told otherwise;
 * development says so.
 */
function checkNotWideOpen(nc: NatsConnection, config: ProxyConfig, logger: Logger): void {
  if (nc.info?.auth_required) return;
  const what = `the NATS bus at ${config.nats.servers.join(", ")} is wide open (it requires no authentication): any client could join queue group ${config.nats.queue_group}, read other users' requests and secrets, and rewrite the ledger. Run nats-server with proxy/nats/aiproxy.conf (see proxy/README, "NATS permissions")`;
  if (config.mode === "production" && !config.nats.allow_open_bus) {
    void nc.close();
    throw new ConfigError(`${what}, or set nats.allow_open_bus: true to start anyway`);
  }
  if (config.mode === "production") logger.error({ servers: config.nats.servers }, what);
  else logger.warn({ servers: config.nats.servers }, what);
}

export async function createScaleOut(
  config: ProxyConfig,
  options: { logger: Logger; needStore: boolean },
): Promise<ScaleOut> {
  const wantStore = options.needStore && config.store.type === "jetstream";
  const hasServers = config.nats.servers.length > 0;
  if ((wantStore || config.jobs.enabled) && !hasServers)
    throw new ConfigError(
      `${wantStore ? "store.type jetstream" : "jobs.enabled"} needs nats.servers (AIPROXY_NATS_SERVERS)`,
    );
  if (!hasServers || !(wantStore || config.jobs.enabled || config.nats.transport)) {
    return { start: async () => {}, stop: async () => {}, close: async () => {} };
  }

  const nc: NatsConnection = await connectNats({
    ...config.nats,
    name: config.nats.name ?? `aiproxy-${config.instance_id ?? config.chain.contract_id}`,
  });
  checkNotWideOpen(nc, config, options.logger);
  options.logger.info(
    {
      servers: config.nats.servers,
      store: wantStore,
      transport: config.nats.transport,
      jobs: config.jobs.enabled,
    },
    "connected to NATS",
  );
  const store = wantStore
    ? await JetStreamStore.open({
        nc,
        bucket: storeBucket(config),
        replicas: config.store.replicas,
        contractId: config.chain.contract_id,
      })
    : undefined;
  const subscriptions: Subscription[] = [];
  const running = new InflightTracker();
  let jobs: JobService | undefined;

  return {
    ...(store ? { store } : {}),
    async start(ctx, app) {
      const h = { nc, ctx };
      if (config.jobs.enabled) {
        jobs = await JobService.open(ctx, nc);
        jobRoutes(app, ctx, jobs);
        if (config.nats.transport) subscriptions.push(...serveJobs(h, jobs, running));
        if (config.jobs.worker) await jobs.startWorker();
      }
      if (config.nats.transport) subscriptions.push(serveChat(h, running));
      await nc.flush();
    },
    async stop(timeoutMs = 10_000) {
      for (const s of subscriptions.splice(0)) s.unsubscribe();
      await running.drain(timeoutMs, jobs?.stop(timeoutMs));
    },
    async close() {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
