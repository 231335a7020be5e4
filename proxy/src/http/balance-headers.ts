// Cost and balance on every metered answer, as response headers (token base units, base-10 integer
// strings, like every amount on the wire). A JSON answer carries them after its settlement; a stream
// carries them with its first bytes, after its reservation (its cost follows in the usage event).
export const HEADER_COST = "x-aiproxy-cost";
export const HEADER_REMAINING = "x-aiproxy-balance-remaining";
export const HEADER_RESERVED = "x-aiproxy-balance-reserved";
export const BALANCE_HEADERS = [HEADER_COST, HEADER_REMAINING, HEADER_RESERVED];

export interface BalanceView {
  /** deposit - spent - reserved of the conversation at that moment. */
  remaining: bigint;
  /** Everything reserved in the conversation at that moment (this request's reservation included on streams). */
  reserved: bigint;
}

export function balanceHeaders(balance: BalanceView, cost?: bigint): Record<string, string> {
  const headers: Record<string, string> = {
    [HEADER_REMAINING]: balance.remaining.toString(),
    [HEADER_RESERVED]: balance.reserved.toString(),
  };
  if (cost !== undefined) headers[HEADER_COST] = cost.toString();
  return headers;
}
