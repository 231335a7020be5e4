// Shape of the contract's STATE record (small, owner-bounded data only). Per-user data lives under
// its own storage keys (ledger.ts, conversations.ts, web4.ts) so that its cost can be measured and
// charged to whoever creates it.

export interface FtMetadata {
  spec: string;
  name: string;
  symbol: string;
  icon: string | null;
  reference: string | null;
  reference_hash: string | null;
  decimals: number;
}

export interface Web4Config {
  proxy_url: string;
  network: string;
  rpc_url: string;
}

/** Bounds (seconds) of a conversation's lifetime; the opener picks within them, `default_secs` if not. */
export interface ExpiryBounds {
  min_secs: number;
  default_secs: number;
  max_secs: number;
}

export interface State {
  owner_id: string;
  /**
   * 32 hex characters drawn from the block's random seed at `new`: refund messages carry it, so one
   * signed for an earlier deployment at this account id never pays on this one (T16).
   */
  deployment: string;
  /** Receives the spent part of every refunded conversation. */
  operator_id: string;
  /** Amounts are kept as decimal strings so the state JSON stays plain. */
  total_supply: string;
  /** Tokens held in open conversations (reported as the contract account's own balance). */
  escrow_total: string;
  /** yoctoNEAR per smallest token unit; "0" disables buy_tokens_for_near. */
  token_price: string;
  /** Lowercase 0x-hex secp256k1 addresses allowed to sign refunds. */
  refund_signers: string[];
  metadata: FtMetadata;
  /** Bytes one NEP-145 registration costs (measured at init with a worst-case account id). */
  account_storage_bytes: string;
  /** Upper bound of bytes one conversation costs (record + account index; measured at init and migrate). */
  conversation_storage_bytes: string;
  conversation_expiry: ExpiryBounds;
  web4: Web4Config;
  web4_paths: string[];
  /** yoctoNEAR buy_tokens_for_near received and the owner has not withdrawn yet (withdraw_near). */
  near_proceeds: string;
  /** Balance records (the owner's from `new` included): each can claim the registration cost back. */
  registered_accounts: number;
}
