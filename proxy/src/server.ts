// Runs a proxy on @hono/node-server.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type AiProxy, type CreateProxyOptions, createProxy } from "./app.js";
import type { ProxyConfig } from "./config.js";

export interface RunningProxy extends AiProxy {
  url: string;
  port: number;
  /** Stops listening, then AiProxy.close. */
  stop(timeoutMs?: number): Promise<void>;
}

export async function startProxy(
  config: ProxyConfig,
  options: CreateProxyOptions = {},
): Promise<RunningProxy> {
  const proxy = await createProxy(config, options);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: proxy.fetch, port: config.port, hostname: config.host }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  proxy.context.logger.info({ url }, "proxy listening");
  return {
    ...proxy,
    url,
    port,
    async stop(timeoutMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ("closeIdleConnections" in server)
        (server as { closeIdleConnections(): void }).closeIdleConnections();
      await proxy.close(timeoutMs);
      if ("closeAllConnections" in server) (server as { closeAllConnections(): void }).closeAllConnections();
      await closed;
    },
  };
}
