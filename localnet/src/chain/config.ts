// Protocol constants localnet uses. Values follow nearcore's mainnet parameters unless noted.

export const CHAIN_ID = "localnet";
export const PROTOCOL_VERSION = 73;
export const GENESIS_ACCOUNT = "test.near";
/** Top-level account names shorter than 32 chars can only be created by this account (nearcore: "registrar"). */
export const REGISTRAR_ACCOUNT = "near";
export const MIN_ALLOWED_TOP_LEVEL_ACCOUNT_LENGTH = 32;

/** Fixed gas price (yoctoNEAR per gas unit): nearcore's minimum gas price, never adjusted here. */
export const GAS_PRICE = 100_000_000n;
export const STORAGE_AMOUNT_PER_BYTE = 10_000_000_000_000_000_000n;
export const MAX_TOTAL_PREPAID_GAS = 300_000_000_000_000n;
export const MAX_TRANSACTION_SIZE = 4_194_304;
export const MAX_CONTRACT_SIZE = 4_194_304;
export const TRANSACTION_VALIDITY_PERIOD = 86_400n;
export const EPOCH_LENGTH = 500n;
export const ACCESS_KEY_NONCE_RANGE_MULTIPLIER = 1_000_000n;
/** Accounts without code using at most this many bytes need no balance for storage (NEP-448). */
export const ZERO_BALANCE_ACCOUNT_STORAGE_LIMIT = 770n;

export const GENESIS_BALANCE = 10n ** 33n; // 1e9 NEAR, as near-sandbox gives test.near
export const GENESIS_LOCKED = 50_000_000n * 10n ** 24n;
export const REGISTRAR_BALANCE = 10n ** 33n;
/**
 * What one fast-forwarded block adds to block time, as nearcore's sandbox does (`sandbox_delta_time`:
 * accrued delta_height × the average of min_block_production_delay and max_block_production_delay,
 * 600 ms and 2 s in the config `near-sandbox init` writes): 1.3 s.
 */
export const FAST_FORWARD_NS_PER_BLOCK = (600_000_000n + 2_000_000_000n) / 2n;
