// nearcore's JSON-RPC error objects (chain/jsonrpc-primitives/src/errors.rs): near-api-js 5 reads
// `data`, near-api-js 7 reads `cause`, so both are filled the way nearcore fills them.

export interface RpcErrorObject {
  name: string;
  cause: { name: string; info?: unknown };
  code: number;
  message: string;
  data: unknown;
}

export class RpcFailure extends Error {
  constructor(readonly error: RpcErrorObject) {
    super(typeof error.data === "string" ? error.data : error.cause.name);
  }
}

export function handlerError(name: string, info: unknown, data: unknown): RpcFailure {
  return new RpcFailure({
    name: "HANDLER_ERROR",
    cause: { name, info },
    code: -32000,
    message: "Server error",
    data,
  });
}

export function methodNotFound(method: string): RpcFailure {
  return new RpcFailure({
    name: "REQUEST_VALIDATION_ERROR",
    cause: { name: "METHOD_NOT_FOUND", info: { method_name: method } },
    code: -32601,
    message: "Method not found",
    data: method,
  });
}

export function parseError(message: string): RpcFailure {
  return new RpcFailure({
    name: "REQUEST_VALIDATION_ERROR",
    cause: { name: "PARSE_ERROR", info: { error_message: message } },
    code: -32700,
    message: "Parse error",
    data: message,
  });
}

export function internalError(message: string): RpcFailure {
  return new RpcFailure({
    name: "INTERNAL_ERROR",
    cause: { name: "INTERNAL_ERROR", info: { error_message: message } },
    code: -32000,
    message: "Server error",
    data: message,
  });
}

export function invalidTransaction(error: unknown): RpcFailure {
  const data = { TxExecutionError: { InvalidTxError: error } };
  return handlerError("INVALID_TRANSACTION", data, data);
}

export function unknownAccount(accountId: string, block: { height: bigint; hash: string }): RpcFailure {
  return handlerError(
    "UNKNOWN_ACCOUNT",
    { requested_account_id: accountId, block_height: block.height, block_hash: block.hash },
    `account ${accountId} does not exist while viewing`,
  );
}

export function unknownBlock(reference: unknown): RpcFailure {
  return handlerError(
    "UNKNOWN_BLOCK",
    { block_reference: reference },
    `DB Not Found Error: BLOCK: ${JSON.stringify(reference)}`,
  );
}
