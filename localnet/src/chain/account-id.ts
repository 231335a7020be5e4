// NEAR account id rules (nearcore's near-account-id crate).

const MIN_LENGTH = 2;
const MAX_LENGTH = 64;
const ACCOUNT_ID_PATTERN = /^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$/;

export function isValidAccountId(id: string): boolean {
  return id.length >= MIN_LENGTH && id.length <= MAX_LENGTH && ACCOUNT_ID_PATTERN.test(id);
}

export function isTopLevelAccount(id: string): boolean {
  return !id.includes(".");
}

/** True when `id` is a direct sub-account of `parent` (a.b.c is a sub-account of b.c, not of c). */
export function isSubAccountOf(id: string, parent: string): boolean {
  return id.endsWith(`.${parent}`) && !id.slice(0, id.length - parent.length - 1).includes(".");
}

/** NEAR-implicit accounts are 64 lowercase hex chars: the ed25519 public key of their only key. */
export function isNearImplicitAccount(id: string): boolean {
  return id.length === 64 && /^[0-9a-f]{64}$/.test(id);
}
