// nearcore's error JSON (core/primitives/src/errors.rs as serde serialises it), built as plain objects.
import { stringifyJson } from "../encoding.js";
import type { FunctionCallErrorJson } from "../vm/types.js";

export type InvalidTxError = Record<string, unknown> | string;
export type ActionErrorKind = Record<string, unknown>;

/** Thrown by transaction validation; becomes an INVALID_TRANSACTION RPC error. */
export class InvalidTransaction extends Error {
  constructor(readonly error: InvalidTxError) {
    super(`invalid transaction: ${stringifyJson(error)}`);
  }
}

/** Thrown while applying an action; becomes an ActionError failure of the receipt. */
export class ActionFailure extends Error {
  index: number | null = null;
  constructor(readonly kind: ActionErrorKind) {
    super(`action error: ${stringifyJson(kind)}`);
  }
}

export const actionErrors = {
  accountAlreadyExists: (account_id: string) => ({ AccountAlreadyExists: { account_id } }),
  accountDoesNotExist: (account_id: string) => ({ AccountDoesNotExist: { account_id } }),
  createAccountOnlyByRegistrar: (
    account_id: string,
    registrar_account_id: string,
    predecessor_id: string,
  ) => ({
    CreateAccountOnlyByRegistrar: { account_id, registrar_account_id, predecessor_id },
  }),
  createAccountNotAllowed: (account_id: string, predecessor_id: string) => ({
    CreateAccountNotAllowed: { account_id, predecessor_id },
  }),
  actorNoPermission: (account_id: string, actor_id: string) => ({
    ActorNoPermission: { account_id, actor_id },
  }),
  deleteKeyDoesNotExist: (account_id: string, public_key: string) => ({
    DeleteKeyDoesNotExist: { account_id, public_key },
  }),
  addKeyAlreadyExists: (account_id: string, public_key: string) => ({
    AddKeyAlreadyExists: { account_id, public_key },
  }),
  deleteAccountStaking: (account_id: string) => ({ DeleteAccountStaking: { account_id } }),
  lackBalanceForState: (account_id: string, amount: bigint) => ({
    LackBalanceForState: { account_id, amount: amount.toString() },
  }),
  functionCallError: (error: FunctionCallErrorJson) => ({ FunctionCallError: error }),
  onlyImplicitAccountCreationAllowed: (account_id: string) => ({
    OnlyImplicitAccountCreationAllowed: { account_id },
  }),
};

export function invalidAccessKey(error: unknown): InvalidTxError {
  return { InvalidAccessKeyError: error };
}

export function txExecutionFailure(error: { ActionError: unknown } | { InvalidTxError: unknown }) {
  return error;
}

/**
 * Rust's Debug rendering of a FunctionCallError, as nearcore's view client puts it in
 * "wasm execution failed with error: …" (near-api-js parses this string back into typed errors).
 */
export function rustDebug(value: unknown, enumPosition = true): string {
  if (typeof value === "string") {
    if (enumPosition && /^[A-Z][A-Za-z0-9]*$/.test(value)) return value;
    return JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  if (value === null || value === undefined) return "None";
  if (Array.isArray(value)) return `[${value.map((v) => rustDebug(v, false)).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [variant, inner] = entries[0] as [string, unknown];
    if (inner && typeof inner === "object" && !Array.isArray(inner)) {
      const fields = Object.entries(inner as Record<string, unknown>);
      const isStruct = fields.length !== 1 || /^[a-z_]+$/.test(fields[0]?.[0] ?? "");
      if (isStruct)
        return `${variant} { ${fields.map(([k, v]) => `${k}: ${rustDebug(v, false)}`).join(", ")} }`;
    }
    return `${variant}(${rustDebug(inner, true)})`;
  }
  return `{ ${entries.map(([k, v]) => `${k}: ${rustDebug(v, false)}`).join(", ")} }`;
}
