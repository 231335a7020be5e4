// The `query` RPC method: accounts, keys, code, state and view calls.
import type { Chain } from "../chain/chain.js";
import { rustDebug } from "../chain/errors.js";
import { accessKeyView, accountView } from "../chain/views.js";
import { bytesToKey, fromBase64, keyToBytes, toBase64 } from "../encoding.js";
import { resolveBlock } from "./block-reference.js";
import { handlerError, parseError, unknownAccount } from "./rpc-error.js";

type Params = Record<string, unknown>;

export async function query(chain: Chain, params: Params): Promise<unknown> {
  const block = resolveBlock(chain, params);
  const at = { block_height: block.height, block_hash: block.hash };
  const accountId = String(params.account_id ?? "");
  const requireAccount = () => {
    const account = chain.state.getAccount(accountId);
    if (!account) throw unknownAccount(accountId, block);
    return account;
  };
  switch (params.request_type) {
    case "view_account":
      return accountView(requireAccount(), block);
    case "view_access_key": {
      const publicKey = String(params.public_key);
      const key = chain.state.getAccessKey(accountId, publicKey);
      // nearcore answers a missing key with a result carrying `error`, for backward compatibility.
      if (!key) return { error: `access key ${publicKey} does not exist while viewing`, logs: [], ...at };
      return { ...accessKeyView(key), ...at };
    }
    case "view_access_key_list":
      requireAccount();
      return {
        keys: chain.state
          .accessKeys(accountId)
          .map(([public_key, key]) => ({ public_key, access_key: accessKeyView(key) })),
        ...at,
      };
    case "view_code": {
      const account = requireAccount();
      const code = chain.state.getCode(accountId);
      if (!code) {
        throw handlerError(
          "NO_CONTRACT_CODE",
          { contract_account_id: accountId, ...at },
          `Contract code for contract ID #${accountId} has never been observed on the node`,
        );
      }
      return { code_base64: toBase64(code), hash: account.codeHash, ...at };
    }
    case "view_state": {
      requireAccount();
      const prefix = bytesToKey(fromBase64(String(params.prefix_base64 ?? "")));
      const values = chain.state
        .dataEntries(accountId, prefix)
        .map(([key, value]) => ({ key: toBase64(keyToBytes(key)), value: toBase64(value) }));
      return { values, proof: [], ...at };
    }
    case "call_function": {
      requireAccount();
      const methodName = String(params.method_name);
      const args = fromBase64(String(params.args_base64 ?? ""));
      const { outcome, error } = await chain.viewCall(accountId, methodName, args);
      if (error) {
        return { error: `wasm execution failed with error: ${rustDebug(error)}`, logs: [], ...at };
      }
      const data = outcome?.returnData.kind === "Value" ? outcome.returnData.data : new Uint8Array(0);
      return { result: Array.from(data), logs: outcome?.logs ?? [], ...at };
    }
    default:
      throw parseError(`unknown variant \`${String(params.request_type)}\``);
  }
}
