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
 * localnet never closes an idle keep-alive connection; the client does (undici after 4 s). A server
 * that closes one can do so just as the client sends on it, and near-api-js reports "fetch failed"
 * for that POST. A longer timeout only moves the race: the server announces it (Keep-Alive:
 * timeout=N) and undici keeps the socket until about N - 1 s, so a request could still meet the
 * close, most often when a long contract call held localnet's event loop past the timeout.
 * 0 disables the timeout and the announcement.
 */
const KEEP_ALIVE_MS = 0;

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
  return server;
}
