// A local stand-in for *.near.page: every GET becomes a web4_get view call on one contract and its
// {contentType, status, body (base64), bodyUrl, cacheControl} answer becomes the HTTP response.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Chain } from "../chain/chain.js";
import { rustDebug } from "../chain/errors.js";
import { utf8 } from "../encoding.js";

interface Web4Response {
  contentType?: string;
  status?: number;
  body?: string;
  bodyUrl?: string;
  cacheControl?: string;
}

/** Path -> JSON body the gateway serves itself (computed per request). */
export type Web4LocalFiles = Record<string, () => unknown>;

export function createWeb4Handler(chain: Chain, contractId: string, localFiles: Web4LocalFiles = {}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const local = localFiles[new URL(req.url ?? "/", "http://localhost").pathname];
    if (local) {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(local()));
      return;
    }
    serve(chain, contractId, req)
      .then(({ status, headers, body }) => {
        res.writeHead(status, headers);
        res.end(body);
      })
      .catch((err: Error) => {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end(`web4 gateway error: ${err.message}`);
      });
  };
}

async function serve(chain: Chain, contractId: string, req: IncomingMessage) {
  const url = new URL(req.url ?? "/", "http://localhost");
  const query: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) query[k] = [...(query[k] ?? []), v];
  const request = { accountId: null, path: url.pathname, query };
  if (!chain.state.getAccount(contractId)) {
    return text(404, `web4 contract ${contractId} does not exist on localnet`);
  }
  const { outcome, error } = await chain.viewCall(contractId, "web4_get", utf8(JSON.stringify({ request })));
  if (error) return text(500, `web4_get failed: ${rustDebug(error)}`);
  const data = outcome?.returnData.kind === "Value" ? outcome.returnData.data : new Uint8Array(0);
  const response = JSON.parse(Buffer.from(data).toString("utf8") || "{}") as Web4Response;
  const headers: Record<string, string> = {};
  if (response.contentType) headers["content-type"] = response.contentType;
  if (response.cacheControl) headers["cache-control"] = response.cacheControl;
  if (response.bodyUrl) {
    headers.location = response.bodyUrl;
    return { status: response.status ?? 302, headers, body: "" };
  }
  const body = response.body ? Buffer.from(response.body, "base64") : Buffer.alloc(0);
  return { status: response.status ?? 200, headers, body };
}

function text(status: number, message: string) {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body: message };
}
