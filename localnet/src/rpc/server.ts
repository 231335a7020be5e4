// HTTP front of the JSON-RPC API: one JSON-RPC 2.0 request per POST, like nearcore's actix server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Chain } from "../chain/chain.js";
import { stringifyJson } from "../encoding.js";
import { dispatch } from "./methods.js";
import type { NodeIdentity } from "./node-info.js";
import { internalError, parseError, RpcFailure } from "./rpc-error.js";

export type FallbackHandler = (req: IncomingMessage, res: ServerResponse) => void;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function handleRpc(chain: Chain, node: NodeIdentity, body: string): Promise<string> {
  let id: unknown = null;
  try {
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(body);
    } catch (err) {
      throw parseError(`Unable to parse request: ${(err as Error).message}`);
    }
    id = request.id ?? null;
    if (typeof request.method !== "string") throw parseError("missing method");
    const result = await dispatch(
      chain,
      node,
      request.method,
      (request.params ?? {}) as Record<string, unknown>,
    );
    return stringifyJson({ jsonrpc: "2.0", result, id });
  } catch (err) {
    const failure =
      err instanceof RpcFailure ? err : internalError(err instanceof Error ? err.message : String(err));
    if (!(err instanceof RpcFailure)) process.stderr.write(`localnet rpc: ${(err as Error)?.stack ?? err}\n`);
    return stringifyJson({ jsonrpc: "2.0", error: failure.error, id });
  }
}

// nearcore's RPC allows every origin by default (cors_allowed_origins ["*"]); browser wallets and
// web4 apps served from another port depend on it.
const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, GET, OPTIONS",
  "access-control-allow-headers": "content-type",
  "access-control-max-age": "3600",
};

/**
 * Idle keep-alive connections stay open longer than clients keep them (undici: 4 s), so a client never
 * sends a request on a socket the server is closing at that moment ("fetch failed" in near-api-js):
 * with Node's 5 s default that race hit tests whenever a long contract call held the event loop.
 */
const KEEP_ALIVE_MS = 65_000;

export function createRpcServer(chain: Chain, node: NodeIdentity, fallback?: FallbackHandler): Server {
  const server = createServer((req, res) => {
    if (req.method === "OPTIONS") {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    if (req.method !== "POST") {
      if (fallback) return fallback(req, res);
      res.writeHead(req.url === "/status" ? 200 : 404, { "content-type": "application/json" });
      res.end(req.url === "/status" ? JSON.stringify({ chain_id: "localnet" }) : "{}");
      return;
    }
    readBody(req)
      .then((body) => handleRpc(chain, node, body))
      .then((text) => {
        res.writeHead(200, { "content-type": "application/json", ...CORS_HEADERS });
        res.end(text);
      })
      .catch((err) => {
        res.writeHead(500);
        res.end(String(err));
      });
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  return server;
}
