// The boundary between localnet's chain (accounts, receipts, RPC) and its contract runtime.
// Shapes follow nearcore's VMContext / VMOutcome so the chain can treat JS and WASM contracts alike.

/** An access key as nearcore stores it. `allowance: null` means unlimited. */
export interface AccessKey {
  nonce: bigint;
  permission: "FullAccess" | { receiverId: string; methodNames: string[]; allowance: bigint | null };
}

/** Actions of a receipt. Public keys are in NEAR's string form, "ed25519:<base58>". */
export type Action =
  | { type: "CreateAccount" }
  | { type: "DeployContract"; code: Uint8Array }
  | { type: "FunctionCall"; methodName: string; args: Uint8Array; gas: bigint; deposit: bigint }
  | { type: "Transfer"; deposit: bigint }
  | { type: "Stake"; stake: bigint; publicKey: string }
  | { type: "AddKey"; publicKey: string; accessKey: AccessKey }
  | { type: "DeleteKey"; publicKey: string }
  | { type: "DeleteAccount"; beneficiaryId: string };

/** A receipt a contract created with promise_create / promise_batch_create / promise_then / promise_batch_then. */
export interface NewReceipt {
  receiverId: string;
  actions: Action[];
  /**
   * Indices into VMOutcome.receipts whose results this receipt waits for, in promise_result order
   * (promise_then on a promise_and joins all of the and'ed receipts).
   */
  dependsOn: number[];
}

/** What a finished receipt hands to the receipts waiting on it (nearcore's PromiseResult). */
export type PromiseResult =
  | { status: "Successful"; data: Uint8Array }
  | { status: "Failed" }
  | { status: "NotReady" };

export interface VMContext {
  currentAccountId: string;
  signerAccountId: string;
  /** Borsh PublicKey bytes: 1 byte key type (0 = ed25519) then 32 key bytes, as `signer_account_pk` returns. */
  signerAccountPk: Uint8Array;
  predecessorAccountId: string;
  input: Uint8Array;
  blockHeight: bigint;
  /** Nanoseconds since the Unix epoch. */
  blockTimestamp: bigint;
  epochHeight: bigint;
  /** Balance of the current account, attached deposit already included. */
  accountBalance: bigint;
  accountLockedBalance: bigint;
  storageUsage: bigint;
  attachedDeposit: bigint;
  prepaidGas: bigint;
  /** 32 bytes, differs per receipt. */
  randomSeed: Uint8Array;
  /** View calls (RPC call_function): state-changing and context-only host functions are ProhibitedInView. */
  isView: boolean;
  /** Results of the receipts this one waited for (promise_results_count / promise_result). */
  promiseResults: PromiseResult[];
}

/** Read access to the current account's committed contract state. */
export interface StorageReader {
  get(key: Uint8Array): Uint8Array | undefined;
}

export interface StateChange {
  key: Uint8Array;
  /** null when the key was removed. */
  value: Uint8Array | null;
}

export type ReturnData =
  | { kind: "None" }
  | { kind: "Value"; data: Uint8Array }
  | { kind: "ReceiptIndex"; index: number };

/**
 * What nearcore puts under `FunctionCallError` in an ActionError, for example
 * `{ ExecutionError: "Smart contract panicked: boom" }`, `{ MethodResolveError: "MethodNotFound" }`,
 * `{ CompilationError: { CodeDoesNotExist: { account_id: "a.test.near" } } }`,
 * `{ HostError: { ProhibitedInView: { method_name: "storage_write" } } }`.
 */
export type FunctionCallErrorJson = Record<string, unknown>;

export interface VMOutcome {
  returnData: ReturnData;
  logs: string[];
  /** Estimated: see localnet/README.md "Gas". */
  gasBurnt: bigint;
  gasUsed: bigint;
  /** Account balance after deposits attached to created receipts were deducted. */
  balance: bigint;
  storageUsage: bigint;
  receipts: NewReceipt[];
  /** In write order; the chain applies them only when `error` is undefined. */
  stateChanges: StateChange[];
  error?: { functionCallError: FunctionCallErrorJson; message: string };
}

export interface RunRequest {
  /** Deployed bytes: a near-sdk-js JS bundle (UTF-8) or a WASM module (starts with "\0asm"). */
  code: Uint8Array;
  /** Stable id of `code` (for example base58 sha256), for module caches. */
  codeHash: string;
  methodName: string;
  context: VMContext;
  storage: StorageReader;
}

export interface ContractRuntime {
  run(request: RunRequest): VMOutcome;
}
