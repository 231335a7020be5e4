// JSON-RPC method table.
import type { Chain } from "../chain/chain.js";
import { GAS_PRICE, GENESIS_ACCOUNT } from "../chain/config.js";
import { blockView } from "../chain/views.js";
import { resolveBlock } from "./block-reference.js";
import { type NodeIdentity, protocolConfigView, statusView, validatorsView } from "./node-info.js";
import { query } from "./query.js";
import { methodNotFound, parseError } from "./rpc-error.js";
import { broadcastTxAsync, broadcastTxCommit, sendTx, txStatus } from "./transactions.js";

type Params = Record<string, unknown> | unknown[];
type Method = (chain: Chain, params: Params, node: NodeIdentity) => unknown;

const asObject = (params: Params): Record<string, unknown> => {
  if (Array.isArray(params)) {
    // Legacy positional form, e.g. block [height] or gas_price [null].
    return params[0] === null || params[0] === undefined ? {} : { block_id: params[0] };
  }
  return params ?? {};
};

const methods: Record<string, Method> = {
  block: (chain, params) =>
    blockView(resolveBlock(chain, asObject(params)), GENESIS_ACCOUNT, chain.totalSupply),
  status: (chain, _params, node) => statusView(chain, node),
  health: () => null,
  gas_price: () => ({ gas_price: GAS_PRICE.toString() }),
  validators: (chain, _params, node) => validatorsView(chain, node),
  network_info: () => ({
    active_peers: [],
    num_active_peers: 0,
    peer_max_count: 40,
    sent_bytes_per_sec: 0,
    received_bytes_per_sec: 0,
    known_producers: [],
  }),
  EXPERIMENTAL_protocol_config: (chain) => protocolConfigView(chain),
  EXPERIMENTAL_genesis_config: (chain) => protocolConfigView(chain),
  query: (chain, params) => query(chain, asQueryObject(params)),
  send_tx: (chain, params) => sendTx(chain, params),
  broadcast_tx_commit: (chain, params) => broadcastTxCommit(chain, params),
  broadcast_tx_async: (chain, params) => broadcastTxAsync(chain, params),
  tx: (chain, params) => txStatus(chain, params, false),
  EXPERIMENTAL_tx_status: (chain, params) => txStatus(chain, params, true),
  sandbox_patch_state: (chain, params) => {
    const records = (asObject(params) as { records?: unknown }).records;
    if (!Array.isArray(records)) throw parseError("missing records");
    try {
      chain.patchState(records as Record<string, Record<string, unknown>>[]);
    } catch (err) {
      throw parseError((err as Error).message);
    }
    return {};
  },
  sandbox_fast_forward: (chain, params) => {
    const delta = (asObject(params) as { delta_height?: unknown }).delta_height;
    if (typeof delta !== "number" && typeof delta !== "string") throw parseError("missing delta_height");
    chain.fastForward(BigInt(delta));
    return {};
  },
};

function asQueryObject(params: Params): Record<string, unknown> {
  if (!Array.isArray(params)) return params ?? {};
  // Legacy query ["account/<id>", ""] form.
  const [path, data] = params as [string, string];
  const [kind, accountId, extra] = String(path).split("/");
  switch (kind) {
    case "account":
      return { request_type: "view_account", account_id: accountId };
    case "access_key":
      return extra
        ? { request_type: "view_access_key", account_id: accountId, public_key: extra }
        : { request_type: "view_access_key_list", account_id: accountId };
    case "contract":
      return { request_type: "view_state", account_id: accountId, prefix_base64: data ?? "" };
    case "call":
      return {
        request_type: "call_function",
        account_id: accountId,
        method_name: extra,
        args_base64: data ?? "",
      };
    default:
      throw parseError(`unknown query path ${path}`);
  }
}

export async function dispatch(
  chain: Chain,
  node: NodeIdentity,
  method: string,
  params: Params,
): Promise<unknown> {
  const handler = methods[method];
  if (!handler) throw methodNotFound(method);
  return handler(chain, params ?? {}, node);
}
