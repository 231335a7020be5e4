// Applies the actions of one receipt to the state, following nearcore's runtime/src/actions.rs.
import { base58, bytesToKey, sha256 } from "../encoding.js";
import type { Action, ContractRuntime, NewReceipt, PromiseResult, VMOutcome } from "../vm/types.js";
import { isNearImplicitAccount, isSubAccountOf, isTopLevelAccount } from "./account-id.js";
import {
  ACCESS_KEY_NONCE_RANGE_MULTIPLIER,
  MIN_ALLOWED_TOP_LEVEL_ACCOUNT_LENGTH,
  REGISTRAR_ACCOUNT,
} from "./config.js";
import { ActionFailure, actionErrors } from "./errors.js";
import { publicKeyBorsh, publicKeyToString, verifyEd25519 } from "./public-key.js";
import type { Receipt } from "./receipt.js";
import { type AccountRecord, type ChainState, EMPTY_CODE_HASH } from "./state.js";
import { ACCOUNT_BYTES, accessKeyStorage, dataStorage } from "./storage-usage.js";
import { type DelegateAction, delegateActionHash, type TxAction } from "./transaction-codec.js";

export interface BlockContext {
  height: bigint;
  hash: string;
  timestamp: bigint;
  epochHeight: bigint;
}

/** A receipt the current receipt created, with dependencies still as indices of its VM outcome. */
export interface CreatedReceipt {
  receiverId: string;
  predecessorId: string;
  actions: (Action | TxAction)[];
  /** Receipt ids (already resolved) this one waits for. */
  dependsOn: string[];
  id: string;
}

export interface ActionsResult {
  logs: string[];
  gasBurnt: bigint;
  created: CreatedReceipt[];
  /** Return value of the last action when it is a function call. */
  returnData: { kind: "None" } | { kind: "Value"; data: Uint8Array } | { kind: "ReceiptId"; id: string };
}

export interface ActionsEnv {
  state: ChainState;
  block: BlockContext;
  runtime: () => ContractRuntime;
  promiseResults: PromiseResult[];
  newReceiptId: () => string;
}

/** Applies all actions or throws ActionFailure (index set); the caller rolls the state back. */
export function applyActions(receipt: Receipt, env: ActionsEnv, out: ActionsResult): void {
  const { state } = env;
  let actor = receipt.predecessorId;
  const receiverId = receipt.receiverId;
  for (let index = 0; index < receipt.actions.length; index++) {
    const action = receipt.actions[index] as Action | TxAction;
    try {
      let account = state.getAccount(receiverId);
      if (!account && action.type !== "CreateAccount") {
        if (action.type === "Transfer" && isNearImplicitAccount(receiverId)) {
          createImplicitAccount(state, receiverId);
          account = state.getAccount(receiverId);
        } else {
          throw new ActionFailure(actionErrors.accountDoesNotExist(receiverId));
        }
      }
      const needsOwner = ["DeployContract", "Stake", "AddKey", "DeleteKey", "DeleteAccount"].includes(
        action.type,
      );
      if (needsOwner && actor !== receiverId) {
        throw new ActionFailure(actionErrors.actorNoPermission(receiverId, actor));
      }
      switch (action.type) {
        case "CreateAccount":
          createAccount(state, receiverId, receipt.predecessorId);
          actor = receiverId;
          break;
        case "Transfer":
          updateAccount(state, receiverId, (a) => ({ ...a, amount: a.amount + action.deposit }));
          break;
        case "DeployContract":
          deployContract(state, receiverId, action.code);
          break;
        case "FunctionCall":
          functionCall(receipt, action, env, out, index === receipt.actions.length - 1);
          break;
        case "Stake":
          // Staking has no meaning on a single-node chain; accepted and recorded in the outcome only.
          break;
        case "AddKey":
          if (state.getAccessKey(receiverId, action.publicKey)) {
            throw new ActionFailure(actionErrors.addKeyAlreadyExists(receiverId, action.publicKey));
          }
          addKey(state, receiverId, action.publicKey, action.accessKey, env.block.height);
          break;
        case "DeleteKey": {
          const key = state.getAccessKey(receiverId, action.publicKey);
          if (!key) throw new ActionFailure(actionErrors.deleteKeyDoesNotExist(receiverId, action.publicKey));
          state.setAccessKey(receiverId, action.publicKey, undefined);
          updateAccount(state, receiverId, (a) => ({
            ...a,
            storageUsage: clampUsage(a.storageUsage - accessKeyStorage(action.publicKey, key)),
          }));
          break;
        }
        case "DeleteAccount": {
          const current = state.getAccount(receiverId) as AccountRecord;
          if (current.locked > 0n) throw new ActionFailure(actionErrors.deleteAccountStaking(receiverId));
          if (current.amount > 0n) {
            out.created.push({
              id: env.newReceiptId(),
              receiverId: action.beneficiaryId,
              predecessorId: "system",
              actions: [{ type: "Transfer", deposit: current.amount }],
              dependsOn: [],
            });
          }
          state.deleteAccountRecords(receiverId);
          break;
        }
        case "Delegate":
          applyDelegate(state, receiverId, action.delegate, env, out);
          break;
      }
    } catch (err) {
      if (err instanceof ActionFailure && err.index === null) err.index = index;
      throw err;
    }
  }
}

function clampUsage(v: bigint): bigint {
  return v < 0n ? 0n : v;
}

export function updateAccount(
  state: ChainState,
  id: string,
  change: (a: AccountRecord) => AccountRecord,
): void {
  const account = state.getAccount(id);
  if (!account) throw new ActionFailure(actionErrors.accountDoesNotExist(id));
  state.setAccount(id, change(account));
}

function createAccount(state: ChainState, id: string, predecessor: string): void {
  if (state.hasAccount(id)) throw new ActionFailure(actionErrors.accountAlreadyExists(id));
  if (isNearImplicitAccount(id)) throw new ActionFailure(actionErrors.onlyImplicitAccountCreationAllowed(id));
  if (isTopLevelAccount(id)) {
    if (id.length < MIN_ALLOWED_TOP_LEVEL_ACCOUNT_LENGTH && predecessor !== REGISTRAR_ACCOUNT) {
      throw new ActionFailure(actionErrors.createAccountOnlyByRegistrar(id, REGISTRAR_ACCOUNT, predecessor));
    }
  } else if (!isSubAccountOf(id, predecessor)) {
    throw new ActionFailure(actionErrors.createAccountNotAllowed(id, predecessor));
  }
  state.setAccount(id, { amount: 0n, locked: 0n, codeHash: EMPTY_CODE_HASH, storageUsage: ACCOUNT_BYTES });
}

function createImplicitAccount(state: ChainState, id: string): void {
  const publicKey = publicKeyToString({ keyType: 0, data: Buffer.from(id, "hex") });
  state.setAccount(id, { amount: 0n, locked: 0n, codeHash: EMPTY_CODE_HASH, storageUsage: ACCOUNT_BYTES });
  addKey(state, id, publicKey, { nonce: 0n, permission: "FullAccess" }, 0n);
}

function addKey(
  state: ChainState,
  id: string,
  publicKey: string,
  accessKey: Parameters<ChainState["setAccessKey"]>[2] & object,
  height: bigint,
): void {
  // nearcore starts new keys at (height - 1) * 1e6 so that nonces of deleted-and-readded keys never repeat.
  const nonce = height > 0n ? (height - 1n) * ACCESS_KEY_NONCE_RANGE_MULTIPLIER : 0n;
  const key = { ...accessKey, nonce };
  state.setAccessKey(id, publicKey, key);
  updateAccount(state, id, (a) => ({
    ...a,
    storageUsage: a.storageUsage + accessKeyStorage(publicKey, key),
  }));
}

function deployContract(state: ChainState, id: string, code: Uint8Array): void {
  const previous = state.getCode(id);
  state.setCode(id, code);
  updateAccount(state, id, (a) => ({
    ...a,
    codeHash: base58.encode(sha256(code)),
    storageUsage: clampUsage(a.storageUsage - BigInt(previous?.length ?? 0) + BigInt(code.length)),
  }));
}

function functionCall(
  receipt: Receipt,
  action: Extract<Action, { type: "FunctionCall" }>,
  env: ActionsEnv,
  out: ActionsResult,
  isLast: boolean,
): void {
  const { state } = env;
  const accountId = receipt.receiverId;
  updateAccount(state, accountId, (a) => ({ ...a, amount: a.amount + action.deposit }));
  const account = state.getAccount(accountId) as AccountRecord;
  const code = state.getCode(accountId);
  if (!code) {
    throw new ActionFailure(
      actionErrors.functionCallError({ CompilationError: { CodeDoesNotExist: { account_id: accountId } } }),
    );
  }
  const outcome: VMOutcome = env.runtime().run({
    code,
    codeHash: account.codeHash,
    methodName: action.methodName,
    context: {
      currentAccountId: accountId,
      signerAccountId: receipt.signerId,
      signerAccountPk: publicKeyBorsh(receipt.signerPublicKey),
      predecessorAccountId: receipt.predecessorId,
      input: action.args,
      blockHeight: env.block.height,
      blockTimestamp: env.block.timestamp,
      epochHeight: env.block.epochHeight,
      accountBalance: account.amount,
      accountLockedBalance: account.locked,
      storageUsage: account.storageUsage,
      attachedDeposit: action.deposit,
      prepaidGas: action.gas,
      randomSeed: sha256(Buffer.from(`${receipt.id}|${env.block.hash}`)),
      isView: false,
      promiseResults: env.promiseResults,
    },
    storage: { get: (key) => state.getData(accountId, bytesToKey(key)) },
  });
  out.logs.push(...outcome.logs);
  out.gasBurnt += outcome.gasBurnt;
  if (outcome.error) throw new ActionFailure(actionErrors.functionCallError(outcome.error.functionCallError));

  let usage = account.storageUsage;
  for (const change of outcome.stateChanges) {
    const key = bytesToKey(change.key);
    const previous = state.getData(accountId, key);
    if (previous) usage -= dataStorage(change.key.length, previous.length);
    if (change.value) usage += dataStorage(change.key.length, change.value.length);
    state.setData(accountId, key, change.value ?? undefined);
  }
  state.setAccount(accountId, { ...account, amount: outcome.balance, storageUsage: clampUsage(usage) });

  const ids = outcome.receipts.map(() => env.newReceiptId());
  outcome.receipts.forEach((created: NewReceipt, i: number) => {
    out.created.push({
      id: ids[i] as string,
      receiverId: created.receiverId,
      predecessorId: accountId,
      actions: created.actions,
      dependsOn: created.dependsOn.map((d) => ids[d] as string),
    });
  });
  if (isLast) {
    const r = outcome.returnData;
    out.returnData =
      r.kind === "Value"
        ? { kind: "Value", data: r.data }
        : r.kind === "ReceiptIndex"
          ? { kind: "ReceiptId", id: ids[r.index] as string }
          : { kind: "None" };
  }
}

/** NEP-366: the relayer's receipt carries actions signed by the sender; they run as a receipt from the sender. */
function applyDelegate(
  state: ChainState,
  receiverId: string,
  delegate: DelegateAction,
  env: ActionsEnv,
  out: ActionsResult,
): void {
  const pk = publicKeyBorsh(delegate.publicKey).subarray(1);
  if (!verifyEd25519(delegateActionHash(delegate.signedBytes), delegate.signature, pk)) {
    throw new ActionFailure("DelegateActionInvalidSignature" as unknown as Record<string, unknown>);
  }
  if (delegate.senderId !== receiverId) {
    throw new ActionFailure({
      DelegateActionSenderDoesNotMatchTxReceiver: { sender_id: delegate.senderId, receiver_id: receiverId },
    });
  }
  if (env.block.height > delegate.maxBlockHeight) {
    throw new ActionFailure("DelegateActionExpired" as unknown as Record<string, unknown>);
  }
  const key = state.getAccessKey(delegate.senderId, delegate.publicKey);
  if (!key) {
    throw new ActionFailure({
      DelegateActionAccessKeyError: {
        AccessKeyNotFound: { account_id: delegate.senderId, public_key: delegate.publicKey },
      },
    });
  }
  if (delegate.nonce <= key.nonce) {
    throw new ActionFailure({
      DelegateActionInvalidNonce: { delegate_nonce: Number(delegate.nonce), ak_nonce: Number(key.nonce) },
    });
  }
  state.setAccessKey(delegate.senderId, delegate.publicKey, { ...key, nonce: delegate.nonce });
  out.created.push({
    id: env.newReceiptId(),
    receiverId: delegate.receiverId,
    predecessorId: delegate.senderId,
    actions: delegate.actions,
    dependsOn: [],
  });
}
