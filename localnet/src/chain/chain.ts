// The single-node chain: turns signed transactions into receipts, executes them to completion in one
// block, keeps outcomes for `tx` queries and answers view queries against the latest state.
// One file over 350 lines on purpose: the receipt loop (transaction -> receipts -> outcomes within one
// block) is one state machine over the block in progress; what it drives (actions, fees, state,
// blocks, receipts) already has a module each.
import { base58, bytesToKey, fromBase64, sha256, toBase64 } from "../encoding.js";
import type { ContractRuntime, PromiseResult, VMOutcome } from "../vm/types.js";
import { type ActionsResult, applyActions, type BlockContext } from "./actions.js";
import { type Block, BlockStore, epochHeight } from "./blocks.js";
import { GAS_PRICE, MAX_TOTAL_PREPAID_GAS } from "./config.js";
import { ActionFailure, actionErrors } from "./errors.js";
import { attachedDeposit, execGas } from "./fees.js";
import type { ExecutionStatus, Outcome, Receipt, ReceiptResult } from "./receipt.js";
import { SYSTEM_ACCOUNT } from "./receipt.js";
import { type AccountRecord, ChainState, EMPTY_CODE_HASH, type StateRecord } from "./state.js";
import { requiredStakeForStorage } from "./storage-usage.js";
import { decodeSignedTransaction, type SignedTransaction } from "./transaction-codec.js";
import { verifyAndCharge } from "./transactions.js";
import { outcomeView, receiptView, transactionView } from "./views.js";

/** What `tx` / `EXPERIMENTAL_tx_status` return, minus final_execution_status (depends on the request). */
export interface StoredTransaction {
  signerId: string;
  status: unknown;
  transaction: unknown;
  transaction_outcome: unknown;
  receipts_outcome: unknown[];
  receipts: unknown[];
}

/** One block's worth of changes, as persistence stores them. */
export interface BlockEntry {
  block: Block;
  changes: StateRecord[];
  transactions: [string, StoredTransaction][];
}

export interface ChainOptions {
  loadRuntime: () => Promise<ContractRuntime>;
  onBlock?: (entry: BlockEntry) => void;
}

export interface ViewResult {
  outcome?: VMOutcome;
  /** nearcore's FunctionCallError JSON when the call failed before or inside the VM. */
  error?: Record<string, unknown>;
}

export class Chain {
  readonly state = new ChainState();
  readonly blocks = new BlockStore();
  readonly transactions = new Map<string, StoredTransaction>();
  private runtime: ContractRuntime | undefined;
  private runtimeLoading: Promise<ContractRuntime> | undefined;

  constructor(private readonly options: ChainOptions) {}

  /** The contract runtime is loaded on first use so that a node that only moves NEAR starts fast. */
  async ensureRuntime(): Promise<ContractRuntime> {
    if (this.runtime) return this.runtime;
    this.runtimeLoading ??= this.options.loadRuntime();
    this.runtime = await this.runtimeLoading;
    return this.runtime;
  }

  get totalSupply(): bigint {
    let total = 0n;
    for (const id of this.state.accountIds()) {
      const a = this.state.getAccount(id) as AccountRecord;
      total += a.amount + a.locked;
    }
    return total;
  }

  /** Commits the state changes made since the last block into a new block (patches, genesis). */
  produceBlock(heightDelta = 1n, transactions: [string, StoredTransaction][] = []): Block {
    const block = this.blocks.next(
      transactions.map(([h]) => h),
      heightDelta,
    );
    this.commit(block, transactions);
    return block;
  }

  private commit(block: Block, transactions: [string, StoredTransaction][]): void {
    this.blocks.add(block);
    for (const [hash, stored] of transactions) this.transactions.set(hash, stored);
    const changes = this.state.takeChanges();
    this.options.onBlock?.({ block, changes, transactions });
  }

  /** Decodes, validates and executes a signed transaction; throws InvalidTransaction. */
  async submitTransaction(bytes: Uint8Array): Promise<{ hash: string; result: StoredTransaction }> {
    const tx = decodeSignedTransaction(bytes);
    const known = this.transactions.get(tx.hash);
    if (known) return { hash: tx.hash, result: known };
    if (tx.actions.some((a) => a.type === "FunctionCall" || a.type === "Delegate"))
      await this.ensureRuntime();
    const again = this.transactions.get(tx.hash);
    if (again) return { hash: tx.hash, result: again };
    return { hash: tx.hash, result: this.execute(tx) };
  }

  private execute(tx: SignedTransaction): StoredTransaction {
    const block = this.blocks.next([tx.hash]);
    let charge: ReturnType<typeof verifyAndCharge>;
    try {
      charge = verifyAndCharge(tx, this.state, this.blocks);
    } catch (err) {
      this.state.rollback(0);
      this.state.takeChanges();
      throw err;
    }
    const firstId = receiptId(tx.hash, 0);
    const txOutcome: Outcome = {
      id: tx.hash,
      executorId: tx.signerId,
      logs: [],
      receiptIds: [firstId],
      gasBurnt: charge.conversionGas,
      tokensBurnt: charge.conversionGas * GAS_PRICE,
      status: { SuccessReceiptId: firstId },
    };
    const run = new ReceiptRun(this, tx, block);
    run.execute({
      id: firstId,
      predecessorId: tx.signerId,
      receiverId: tx.receiverId,
      signerId: tx.signerId,
      signerPublicKey: tx.publicKey,
      actions: tx.actions,
      dependsOn: [],
    });

    // Unused prepaid gas goes back to the signer (nearcore does it with a gas refund receipt).
    const burnt = [...run.outcomes.values()].reduce((s, o) => s + o.gasBurnt, charge.conversionGas);
    const refund = charge.totalCost - charge.deposit - burnt * GAS_PRICE;
    const signer = this.state.getAccount(tx.signerId);
    if (refund > 0n && signer)
      this.state.setAccount(tx.signerId, { ...signer, amount: signer.amount + refund });

    const ordered = run.orderedOutcomes(firstId);
    const stored: StoredTransaction = {
      signerId: tx.signerId,
      status: finalStatus(txOutcome, ordered),
      transaction: transactionView(tx),
      transaction_outcome: outcomeView(txOutcome, block.hash),
      receipts_outcome: ordered.map((o) => outcomeView(o, block.hash)),
      receipts: ordered.map((o) => run.receipts.get(o.id)).flatMap((r) => (r ? [receiptView(r)] : [])),
    };
    this.commit(block, [[tx.hash, stored]]);
    return stored;
  }

  blockContext(block: Block): BlockContext {
    return {
      height: block.height,
      hash: block.hash,
      timestamp: block.timestamp,
      epochHeight: epochHeight(block.height),
    };
  }

  runtimeNow(): ContractRuntime {
    if (!this.runtime) throw new Error("contract runtime not loaded");
    return this.runtime;
  }

  /** A view call (RPC call_function) against the latest state. The account must exist. */
  async viewCall(accountId: string, methodName: string, args: Uint8Array): Promise<ViewResult> {
    const account = this.state.getAccount(accountId);
    if (!account) throw new Error(`account ${accountId} does not exist`);
    const code = this.state.getCode(accountId);
    if (!code) return { error: { CompilationError: { CodeDoesNotExist: { account_id: accountId } } } };
    const runtime = await this.ensureRuntime();
    const block = this.blocks.latest;
    const outcome = runtime.run({
      code,
      codeHash: account.codeHash,
      methodName,
      context: {
        currentAccountId: accountId,
        signerAccountId: accountId,
        signerAccountPk: new Uint8Array(0),
        predecessorAccountId: accountId,
        input: args,
        blockHeight: block.height,
        blockTimestamp: block.timestamp,
        epochHeight: epochHeight(block.height),
        accountBalance: account.amount,
        accountLockedBalance: account.locked,
        storageUsage: account.storageUsage,
        attachedDeposit: 0n,
        prepaidGas: MAX_TOTAL_PREPAID_GAS,
        randomSeed: sha256(Buffer.from(`view|${block.hash}`)),
        isView: true,
        promiseResults: [],
      },
      storage: { get: (key) => this.state.getData(accountId, bytesToKey(key)) },
    });
    if (outcome.error) return { outcome, error: outcome.error.functionCallError };
    return { outcome };
  }

  /** sandbox_patch_state: writes records as given (like nearcore, storage_usage is not recomputed). */
  patchState(records: Record<string, Record<string, unknown>>[]): void {
    for (const record of records) {
      if ("Account" in record) {
        const { account_id, account } = record.Account as {
          account_id: string;
          account: Record<string, unknown>;
        };
        this.state.setAccount(account_id, {
          amount: BigInt(String(account.amount ?? "0")),
          locked: BigInt(String(account.locked ?? "0")),
          codeHash: String(account.code_hash ?? EMPTY_CODE_HASH),
          storageUsage: BigInt(Number(account.storage_usage ?? 0)),
        });
      } else if ("AccessKey" in record) {
        const { account_id, public_key, access_key } = record.AccessKey as {
          account_id: string;
          public_key: string;
          access_key: { nonce?: number | string; permission: unknown };
        };
        this.state.setAccessKey(account_id, public_key, {
          nonce: BigInt(access_key.nonce ?? 0),
          permission: parsePermission(access_key.permission),
        });
      } else if ("Data" in record) {
        const { account_id, data_key, value } = record.Data as {
          account_id: string;
          data_key: string;
          value: string;
        };
        this.state.setData(account_id, bytesToKey(fromBase64(data_key)), fromBase64(value));
      } else if ("Contract" in record) {
        const { account_id, code } = record.Contract as { account_id: string; code: string };
        const bytes = fromBase64(code);
        this.state.setCode(account_id, bytes);
        const account = this.state.getAccount(account_id);
        if (account)
          this.state.setAccount(account_id, { ...account, codeHash: base58.encode(sha256(bytes)) });
      } else {
        throw new Error(`unsupported state record ${Object.keys(record).join(",")}`);
      }
    }
    this.produceBlock();
  }

  /** Jumps `deltaHeight` blocks ahead in one block, and block time with it (BlockStore.fastForward). */
  fastForward(deltaHeight: bigint): void {
    if (deltaHeight < 1n) throw new Error("delta_height must be at least 1");
    this.commit(this.blocks.fastForward(deltaHeight), []);
  }
}

export function parsePermission(permission: unknown): import("../vm/types.js").AccessKey["permission"] {
  if (permission === "FullAccess") return "FullAccess";
  const fc = (permission as { FunctionCall?: Record<string, unknown> }).FunctionCall;
  if (!fc) throw new Error(`unsupported access key permission ${JSON.stringify(permission)}`);
  return {
    receiverId: String(fc.receiver_id),
    methodNames: (fc.method_names as string[]) ?? [],
    allowance: fc.allowance === null || fc.allowance === undefined ? null : BigInt(String(fc.allowance)),
  };
}

function receiptId(txHash: string, index: number): string {
  return base58.encode(sha256(Buffer.from(`${txHash}:${index}`)));
}

/** nearcore's get_final_transaction_result: follow SuccessReceiptId links from the transaction outcome. */
function finalStatus(txOutcome: Outcome, ordered: Outcome[]): unknown {
  let looking = (txOutcome.status as { SuccessReceiptId: string }).SuccessReceiptId;
  for (const outcome of ordered) {
    if (outcome.id !== looking) continue;
    const status = outcome.status;
    if ("SuccessReceiptId" in status) {
      looking = status.SuccessReceiptId;
      continue;
    }
    return status;
  }
  return "Started";
}

/** Executes the receipts of one transaction, each one after the receipts it depends on. */
class ReceiptRun {
  readonly outcomes = new Map<string, Outcome>();
  readonly receipts = new Map<string, Receipt>();
  private readonly results = new Map<string, ReceiptResult>();
  private readonly ready: Receipt[] = [];
  private readonly waiting: Receipt[] = [];
  private counter = 1;
  private readonly context: BlockContext;

  constructor(
    private readonly chain: Chain,
    private readonly tx: SignedTransaction,
    block: Block,
  ) {
    this.context = chain.blockContext(block);
  }

  execute(first: Receipt): void {
    this.ready.push(first);
    while (this.ready.length > 0 || this.waiting.length > 0) {
      // A receipt waiting on something that can never finish would otherwise stall the loop.
      if (this.ready.length === 0) this.ready.push(this.waiting.shift() as Receipt);
      this.apply(this.ready.shift() as Receipt);
      for (let i = 0; i < this.waiting.length; ) {
        const r = this.waiting[i] as Receipt;
        if (r.dependsOn.every((d) => this.resolve(d) !== undefined)) {
          this.waiting.splice(i, 1);
          this.ready.push(r);
        } else i++;
      }
    }
  }

  orderedOutcomes(firstId: string): Outcome[] {
    const out: Outcome[] = [];
    const seen = new Set<string>();
    const visit = (id: string) => {
      const o = this.outcomes.get(id);
      if (!o || seen.has(id)) return;
      seen.add(id);
      out.push(o);
      for (const child of o.receiptIds) visit(child);
    };
    visit(firstId);
    for (const [id, o] of this.outcomes) if (!seen.has(id)) out.push(o);
    return out;
  }

  private resolve(id: string): ReceiptResult | undefined {
    let result = this.results.get(id);
    for (let hops = 0; result?.kind === "forward" && hops < 1000; hops++)
      result = this.results.get(result.to);
    return result?.kind === "forward" ? undefined : result;
  }

  private promiseResult(id: string): PromiseResult {
    const r = this.resolve(id);
    if (!r) return { status: "NotReady" };
    return r.kind === "value" ? { status: "Successful", data: r.data } : { status: "Failed" };
  }

  private schedule(receipt: Receipt): void {
    this.receipts.set(receipt.id, receipt);
    if (receipt.dependsOn.every((d) => this.resolve(d) !== undefined)) this.ready.push(receipt);
    else this.waiting.push(receipt);
  }

  private apply(receipt: Receipt): void {
    this.receipts.set(receipt.id, receipt);
    const { state } = this.chain;
    const isRefund = receipt.predecessorId === SYSTEM_ACCOUNT;
    const checkpoint = state.checkpoint();
    const out: ActionsResult = {
      logs: [],
      gasBurnt: isRefund ? 0n : execGas(receipt.actions),
      created: [],
      returnData: { kind: "None" },
    };
    let status: ExecutionStatus;
    let result: ReceiptResult;
    const receiptIds: string[] = [];
    try {
      applyActions(
        receipt,
        {
          state,
          block: this.context,
          runtime: () => this.chain.runtimeNow(),
          promiseResults: receipt.dependsOn.map((d) => this.promiseResult(d)),
          newReceiptId: () => receiptId(this.tx.hash, this.counter++),
        },
        out,
      );
      checkStorageStake(state, receipt.receiverId);
      const r = out.returnData;
      if (r.kind === "ReceiptId") {
        status = { SuccessReceiptId: r.id };
        result = { kind: "forward", to: r.id };
      } else {
        const data = r.kind === "Value" ? r.data : new Uint8Array(0);
        status = { SuccessValue: toBase64(data) };
        result = { kind: "value", data };
      }
      for (const created of out.created) {
        receiptIds.push(created.id);
        this.schedule({ ...created, signerId: receipt.signerId, signerPublicKey: receipt.signerPublicKey });
      }
    } catch (err) {
      state.rollback(checkpoint);
      const failure =
        err instanceof ActionFailure
          ? err
          : internalFailure(err instanceof Error ? err : new Error(String(err)), receipt.actions.length - 1);
      status = { Failure: { ActionError: { index: failure.index, kind: failure.kind } } };
      result = { kind: "failed" };
      const deposit = attachedDeposit(receipt.actions);
      if (deposit > 0n && !isRefund) {
        const refundId = receiptId(this.tx.hash, this.counter++);
        receiptIds.push(refundId);
        this.schedule({
          id: refundId,
          predecessorId: SYSTEM_ACCOUNT,
          receiverId: receipt.predecessorId,
          signerId: receipt.signerId,
          signerPublicKey: receipt.signerPublicKey,
          actions: [{ type: "Transfer", deposit }],
          dependsOn: [],
        });
      }
    }
    this.results.set(receipt.id, result);
    this.outcomes.set(receipt.id, {
      id: receipt.id,
      executorId: receipt.receiverId,
      logs: out.logs,
      receiptIds,
      gasBurnt: out.gasBurnt,
      tokensBurnt: out.gasBurnt * GAS_PRICE,
      status,
    });
  }
}

function checkStorageStake(state: ChainState, accountId: string): void {
  const account = state.getAccount(accountId);
  if (!account) return;
  const required = requiredStakeForStorage(account.storageUsage, account.codeHash !== EMPTY_CODE_HASH);
  const available = account.amount + account.locked;
  if (available < required) {
    throw new ActionFailure(actionErrors.lackBalanceForState(accountId, required - available));
  }
}

function internalFailure(err: Error, index: number): ActionFailure {
  process.stderr.write(`localnet: internal error while executing a receipt: ${err.stack ?? err.message}\n`);
  const failure = new ActionFailure(
    actionErrors.functionCallError({ ExecutionError: `localnet: ${err.message}` }),
  );
  failure.index = index;
  return failure;
}
