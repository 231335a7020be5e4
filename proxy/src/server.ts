// Runs a proxy on @hono/node-server.

import { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Http2Bindings, type HttpBindings, serve } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { type AiProxy, type CreateProxyOptions, createProxy } from "./app.js";
import type { ProxyConfig } from "./config.js";
import type { DirectReplySlot } from "./relay/sink.js";

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
    const s = serve({ fetch: directFetch(proxy), port: config.port, hostname: config.host }, () =>
      resolve(s),
    );
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

/**
 * The app's fetch, plus the direct SSE path: every request's bindings get a reply slot; when a route
 * chose to write its stream straight to the ServerResponse it leaves its sink there (relay/sink.ts),
 * and the final response Hono produced (after CORS and every other middleware) only supplies status
 * and headers; the stream writes them with its first bytes and the adapter is told the response is
 * already being sent.
 */
function directFetch(proxy: AiProxy) {
  return async (request: Request, env: HttpBindings | Http2Bindings): Promise<Response> => {
    if (!(env.outgoing instanceof ServerResponse)) return proxy.fetch(request, env);
    const direct: DirectReplySlot = {};
    const response = await proxy.fetch(request, { ...env, direct });
    const sink = direct.sink;
    if (!sink) return response;
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    sink.attach(env.outgoing, response.status, headers);
    return RESPONSE_ALREADY_SENT;
  };
}
