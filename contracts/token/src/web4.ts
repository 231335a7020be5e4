// web4: the chat app's static bundle lives in contract state, one record per asset
// (key "w" + path, value JSON {contentType, body: base64}). Owner-only writes; the storage is paid
// from the contract's own balance (the owner can top it up by attaching NEAR to post_web4_bundle).
//
// Upload protocol (one method, idempotent per chunk):
//   post_web4_bundle({assets: {"/index.html": {contentType, body}, ...}, reset?: true})
// merges the given assets into the bundle; `reset: true` first removes every stored asset. An asset
// too large for one transaction is sent in base64 chunks: the first chunk as usual, the following
// ones with `append: true`, which concatenates to the stored body. Every chunk but the last must have
// a length that is a multiple of 4 (whole base64 quanta), so the concatenation is valid base64.
import { encode, near } from "near-sdk-js";
import type { State } from "./state";
import { need, toBase64 } from "./util";

const PREFIX = "w";
const PATH_RE = /^\/[^?#\s]{0,255}$/;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export interface Web4Response {
  contentType: string;
  body: string;
  status?: number;
}

function read(path: string): Web4Response | null {
  const raw = near.storageRead(PREFIX + path);
  return raw === null ? null : (JSON.parse(raw) as Web4Response);
}

export function postBundle(state: State, assets: unknown, reset: unknown): void {
  need(
    assets !== null && typeof assets === "object" && !Array.isArray(assets),
    "assets must be an object {path: {contentType, body (base64), append?}}",
  );
  if (reset === true) {
    for (const path of state.web4_paths) near.storageRemove(PREFIX + path);
    state.web4_paths = [];
  }
  const entries = assets as Record<string, { contentType?: unknown; body?: unknown; append?: unknown }>;
  for (const path of Object.keys(entries)) {
    const asset = entries[path];
    need(PATH_RE.test(path), `asset path ${JSON.stringify(path)} must start with / and have no query`);
    need(asset !== null && typeof asset === "object", `asset ${path} must be {contentType, body}`);
    const { contentType, body } = asset;
    need(
      typeof contentType === "string" && contentType.length > 0 && contentType.length <= 128,
      `asset ${path}: contentType must be a non-empty string`,
    );
    need(typeof body === "string" && B64_RE.test(body), `asset ${path}: body must be base64`);
    let stored = body;
    if (asset.append === true) {
      const previous = read(path);
      need(previous !== null, `asset ${path}: append needs a first chunk`);
      need(
        previous.body.length % 4 === 0 && !previous.body.endsWith("="),
        `asset ${path}: previous chunk ended mid-quantum; chunk lengths must be multiples of 4`,
      );
      stored = previous.body + body;
    }
    near.storageWrite(PREFIX + path, JSON.stringify({ contentType, body: stored }));
    if (!state.web4_paths.includes(path)) state.web4_paths.push(path);
  }
}

const utf8Base64 = (text: string) => toBase64(encode(text));

export function get(state: State, request: unknown): Web4Response {
  const rawPath = (request as { path?: unknown } | null)?.path;
  const path = (typeof rawPath === "string" ? rawPath : "/").split(/[?#]/)[0] || "/";
  if (path === "/config.json") {
    const { network, proxy_url, rpc_url } = state.web4;
    const config = { contract_id: near.currentAccountId(), network, proxy_url, rpc_url };
    return { contentType: "application/json", body: utf8Base64(JSON.stringify(config)) };
  }
  // Single-page app: "/" and every unknown path get index.html; the client router takes over.
  const asset = (path !== "/" && read(path)) || read("/index.html");
  if (asset !== null) return asset;
  return {
    status: 404,
    contentType: "text/plain; charset=utf-8",
    body: utf8Base64("web4 bundle not posted yet"),
  };
}
