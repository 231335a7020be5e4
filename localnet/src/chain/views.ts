// JSON views of chain objects in nearcore's RPC shapes (core/primitives/src/views.rs).
import { base58, sha256, toBase64 } from "../encoding.js";
import type { AccessKey, Action } from "../vm/types.js";
import type { Block } from "./blocks.js";
import { epochId } from "./blocks.js";
import { GAS_PRICE, PROTOCOL_VERSION } from "./config.js";
import type { Outcome, Receipt } from "./receipt.js";
import type { AccountRecord } from "./state.js";
import type { SignedTransaction, TxAction } from "./transaction-codec.js";

export function accountView(account: AccountRecord, block: Block) {
  return {
    amount: account.amount.toString(),
    locked: account.locked.toString(),
    code_hash: account.codeHash,
    storage_usage: account.storageUsage,
    storage_paid_at: 0,
    block_height: block.height,
    block_hash: block.hash,
  };
}

export function accessKeyView(key: AccessKey) {
  return {
    nonce: key.nonce,
    permission:
      key.permission === "FullAccess"
        ? "FullAccess"
        : {
            FunctionCall: {
              allowance: key.permission.allowance === null ? null : key.permission.allowance.toString(),
              receiver_id: key.permission.receiverId,
              method_names: key.permission.methodNames,
            },
          },
  };
}

export function actionView(action: Action | TxAction): unknown {
  switch (action.type) {
    case "CreateAccount":
      return "CreateAccount";
    case "DeployContract":
      // nearcore shows the code hash here, not the code.
      return { DeployContract: { code: toBase64(sha256(action.code)) } };
    case "FunctionCall":
      return {
        FunctionCall: {
          method_name: action.methodName,
          args: toBase64(action.args),
          gas: action.gas,
          deposit: action.deposit.toString(),
        },
      };
    case "Transfer":
      return { Transfer: { deposit: action.deposit.toString() } };
    case "Stake":
      return { Stake: { stake: action.stake.toString(), public_key: action.publicKey } };
    case "AddKey":
      return { AddKey: { public_key: action.publicKey, access_key: accessKeyView(action.accessKey) } };
    case "DeleteKey":
      return { DeleteKey: { public_key: action.publicKey } };
    case "DeleteAccount":
      return { DeleteAccount: { beneficiary_id: action.beneficiaryId } };
    case "Delegate":
      return {
        Delegate: {
          delegate_action: {
            sender_id: action.delegate.senderId,
            receiver_id: action.delegate.receiverId,
            actions: action.delegate.actions.map(actionView),
            nonce: action.delegate.nonce,
            max_block_height: action.delegate.maxBlockHeight,
            public_key: action.delegate.publicKey,
          },
          signature: `ed25519:${base58.encode(action.delegate.signature)}`,
        },
      };
  }
}

export function transactionView(tx: SignedTransaction) {
  return {
    signer_id: tx.signerId,
    public_key: tx.publicKey,
    nonce: tx.nonce,
    receiver_id: tx.receiverId,
    actions: tx.actions.map(actionView),
    priority_fee: Number(tx.priorityFee ?? 0n),
    signature: `${tx.signatureKeyType === 0 ? "ed25519" : "secp256k1"}:${base58.encode(tx.signature)}`,
    hash: tx.hash,
  };
}

export function outcomeView(outcome: Outcome, blockHash: string) {
  return {
    proof: [],
    block_hash: blockHash,
    id: outcome.id,
    outcome: {
      logs: outcome.logs,
      receipt_ids: outcome.receiptIds,
      gas_burnt: Number(outcome.gasBurnt),
      tokens_burnt: outcome.tokensBurnt.toString(),
      executor_id: outcome.executorId,
      status: outcome.status,
      metadata: { version: 3, gas_profile: [] },
    },
  };
}

export function receiptView(receipt: Receipt) {
  return {
    predecessor_id: receipt.predecessorId,
    receiver_id: receipt.receiverId,
    receipt_id: receipt.id,
    receipt: {
      Action: {
        signer_id: receipt.signerId,
        signer_public_key: receipt.signerPublicKey,
        gas_price: GAS_PRICE.toString(),
        output_data_receivers: [],
        input_data_ids: receipt.dependsOn,
        actions: receipt.actions.map(actionView),
        is_promise_yield: false,
      },
    },
    priority: 0,
  };
}

export function blockView(block: Block, author: string, totalSupply: bigint) {
  const chunkHash = base58.encode(sha256(Buffer.from(`chunk:${block.hash}`)));
  const zero = "11111111111111111111111111111111";
  const header = {
    height: block.height,
    prev_height: block.height > 0n ? block.height - 1n : null,
    epoch_id: epochId(block.height),
    next_epoch_id: epochId(block.height + 500n),
    hash: block.hash,
    prev_hash: block.prevHash,
    prev_state_root: zero,
    block_body_hash: zero,
    chunk_receipts_root: zero,
    chunk_headers_root: zero,
    chunk_tx_root: zero,
    outcome_root: zero,
    chunks_included: 1,
    challenges_root: zero,
    timestamp: block.timestamp,
    timestamp_nanosec: block.timestamp.toString(),
    random_value: base58.encode(sha256(Buffer.from(`random:${block.hash}`))),
    validator_proposals: [],
    chunk_mask: [true],
    gas_price: GAS_PRICE.toString(),
    block_ordinal: block.height,
    rent_paid: "0",
    validator_reward: "0",
    total_supply: totalSupply.toString(),
    challenges_result: [],
    last_final_block: block.hash,
    last_ds_final_block: block.hash,
    next_bp_hash: zero,
    block_merkle_root: zero,
    epoch_sync_data_hash: null,
    approvals: [],
    signature: `ed25519:${base58.encode(new Uint8Array(64))}`,
    latest_protocol_version: PROTOCOL_VERSION,
  };
  const chunk = {
    chunk_hash: chunkHash,
    prev_block_hash: block.prevHash,
    outcome_root: zero,
    prev_state_root: zero,
    encoded_merkle_root: zero,
    encoded_length: 0,
    height_created: block.height,
    height_included: block.height,
    shard_id: 0,
    gas_used: 0,
    gas_limit: 1_000_000_000_000_000,
    rent_paid: "0",
    validator_reward: "0",
    balance_burnt: "0",
    outgoing_receipts_root: zero,
    tx_root: zero,
    validator_proposals: [],
    congestion_info: null,
    bandwidth_requests: null,
    signature: `ed25519:${base58.encode(new Uint8Array(64))}`,
  };
  return { author, header, chunks: [chunk] };
}
