// OpenAI's error shape ({error:{message,type,param,code}}) with the HTTP status that goes with it.
// Every failure a client can cause is an ApiError, so the catch-all handler never has to guess (T12).
// errorReply is the one conversion from anything thrown to what a client sees; every surface (HTTP,
// NATS, a job record, a stream that broke off) goes through it.

export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 409 | 413 | 429 | 500 | 502 | 503 | 504;

const typeForStatus: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "insufficient_quota",
  403: "permission_error",
  404: "not_found_error",
  409: "conflict_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
  500: "server_error",
  502: "upstream_error",
  503: "service_unavailable",
  504: "timeout_error",
};

export class ApiError extends Error {
  constructor(
    readonly status: ErrorStatus,
    message: string,
    readonly code: string,
    readonly param: string | null = null,
    /** Extra response headers, e.g. Retry-After on 429/503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  get type(): string {
    return typeForStatus[this.status] ?? "server_error";
  }

  toJSON(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** What a client is told: the status, the OpenAI-shaped body, extra headers (Retry-After). */
export interface ErrorReply {
  status: ErrorStatus;
  body: OpenAiErrorBody;
  headers: Record<string, string>;
}

/** Anything thrown, as a client sees it: an ApiError as it is, anything else a bare 500 (no internals). */
export function errorReply(e: unknown): ErrorReply {
  const api = e instanceof ApiError ? e : errors.internal();
  return { status: api.status, body: api.toJSON(), headers: api.headers };
}

export const errors = {
  /** Unexpected: its message is logged, never sent. */
  internal: () => new ApiError(500, "internal proxy error", "internal_error"),
  routeNotFound: (method: string, path: string) =>
    new ApiError(404, `no route for ${method} ${path}`, "route_not_found"),
  /** The upstream stream broke off after its first byte (sent as the stream's last event). */
  streamCut: () => new ApiError(502, "the upstream stream ended early", "stream_cut"),
  badRequest: (message: string, param: string | null = null, code = "invalid_request") =>
    new ApiError(400, message, code, param),
  malformedJson: () => new ApiError(400, "request body is not valid JSON", "invalid_json"),
  tooLarge: (limit: number) =>
    new ApiError(413, `request body exceeds the ${limit}-byte limit`, "request_too_large"),
  missingKey: () =>
    new ApiError(
      401,
      "missing bearer token: send the conversation secret as `Authorization: Bearer <secret>`",
      "missing_api_key",
    ),
  invalidKey: () =>
    new ApiError(401, "the bearer token is not a valid conversation secret", "invalid_api_key"),
  unknownConversation: () =>
    new ApiError(
      404,
      "no open conversation on chain for this secret (sha256(secret) is not a known conversation_id)",
      "conversation_not_found",
    ),
  conversationExpiring: (expiresAt: bigint) =>
    new ApiError(
      403,
      `this conversation's escrow expires at ${new Date(Number(expiresAt / 1_000_000n)).toISOString()}: it serves no more requests; end it (POST /v1/conversations/refund) to get the unspent part back`,
      "conversation_expiring",
    ),
  conversationClosed: () =>
    new ApiError(
      403,
      "this conversation is closed: its refund has been signed or paid, it serves no more requests",
      "conversation_closed",
    ),
  insufficientQuota: (needed: bigint, available: bigint) =>
    new ApiError(
      402,
      `insufficient conversation balance: this request may cost up to ${needed} token units, ${available} available (lower max_tokens or open a new conversation)`,
      "insufficient_quota",
    ),
  unknownModel: (model: string) =>
    new ApiError(404, `the model '${model}' does not exist on this proxy`, "model_not_found", "model"),
  chainUnavailable: () =>
    new ApiError(503, "the NEAR RPC endpoint is unavailable, try again", "chain_unavailable"),
  upstreamFailed: (message: string, status: 502 | 503 | 504 = 502, code = "upstream_error") =>
    new ApiError(status, message, code),
  rateLimited: (retryAfterSeconds?: number) =>
    new ApiError(
      429,
      "the upstream provider is rate limiting, retry later",
      "rate_limited",
      null,
      retryAfterSeconds === undefined ? {} : { "retry-after": String(Math.ceil(retryAfterSeconds)) },
    ),
  tooManyFirstSights: (retryAfterSeconds: number) =>
    new ApiError(
      429,
      "too many requests for conversations this proxy has not seen yet from this client; retry later",
      "rate_limited",
      null,
      { "retry-after": String(Math.max(1, retryAfterSeconds)) },
    ),
  jsonTooDeep: (limit: number) =>
    new ApiError(400, `request body is nested deeper than ${limit} levels`, "invalid_json"),
  shuttingDown: () => new ApiError(503, "the proxy is shutting down", "shutting_down"),
  refundUnavailable: () =>
    new ApiError(503, "refund signing is not configured on this proxy", "refund_signer_missing"),
  operatorApiOff: () =>
    new ApiError(
      404,
      "the operator API is off on this proxy: set AIPROXY_OPERATOR_TOKEN or operator.token_file",
      "operator_api_disabled",
    ),
  operatorUnauthorized: () =>
    new ApiError(
      401,
      "the operator API needs `Authorization: Bearer <operator token>` (a conversation secret is not one)",
      "invalid_operator_token",
    ),
  settlementOff: (reason: string) =>
    new ApiError(409, `operator settlement is off on this proxy: ${reason}`, "settlement_off"),
  notSettlementLeader: (leader: string) =>
    new ApiError(
      409,
      `another process leads settlement (${leader}); ask it, or wait for its next pass`,
      "not_settlement_leader",
    ),
};
