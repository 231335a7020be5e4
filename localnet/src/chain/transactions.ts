// Transaction validation and charging, in the order of nearcore's verify_and_charge_transaction.
import { isValidAccountId } from "./account-id.js";
import type { BlockStore } from "./blocks.js";
import {
  ACCESS_KEY_NONCE_RANGE_MULTIPLIER,
  GAS_PRICE,
  MAX_CONTRACT_SIZE,
  MAX_TOTAL_PREPAID_GAS,
  MAX_TRANSACTION_SIZE,
  TRANSACTION_VALIDITY_PERIOD,
} from "./config.js";
import { InvalidTransaction, invalidAccessKey } from "./errors.js";
import { attachedDeposit, execGas, prepaidGas, sendGas } from "./fees.js";
import { KEY_TYPE_ED25519, parsePublicKey, verifyEd25519 } from "./public-key.js";
import type { ChainState } from "./state.js";
import { requiredStakeForStorage } from "./storage-usage.js";
import type { SignedTransaction } from "./transaction-codec.js";

export interface TransactionCharge {
  /** Gas burnt converting the transaction into its receipt. */
  conversionGas: bigint;
  /** Everything taken from the signer up front: gas for all of it at the fixed price, plus deposits. */
  totalCost: bigint;
  deposit: bigint;
}

export function checkSignature(tx: SignedTransaction): void {
  const key = parsePublicKey(tx.publicKey);
  const ok =
    key.keyType === KEY_TYPE_ED25519 &&
    tx.signatureKeyType === KEY_TYPE_ED25519 &&
    verifyEd25519(tx.hashBytes, tx.signature, key.data);
  if (!ok) throw new InvalidTransaction("InvalidSignature");
}

function validateActions(tx: SignedTransaction): void {
  if (tx.size > MAX_TRANSACTION_SIZE) {
    throw new InvalidTransaction({
      TransactionSizeExceeded: { size: tx.size, limit: MAX_TRANSACTION_SIZE },
    });
  }
  tx.actions.forEach((action, i) => {
    if (action.type === "DeployContract" && action.code.length > MAX_CONTRACT_SIZE) {
      throw new InvalidTransaction({
        ActionsValidation: { ContractSizeExceeded: { size: action.code.length, limit: MAX_CONTRACT_SIZE } },
      });
    }
    if (action.type === "DeleteAccount" && i !== tx.actions.length - 1) {
      throw new InvalidTransaction({ ActionsValidation: "DeleteActionMustBeFinal" });
    }
    if (action.type === "FunctionCall" && action.gas === 0n) {
      throw new InvalidTransaction({ ActionsValidation: "FunctionCallZeroAttachedGas" });
    }
  });
  const total = prepaidGas(tx.actions);
  if (total > MAX_TOTAL_PREPAID_GAS) {
    throw new InvalidTransaction({
      ActionsValidation: {
        TotalPrepaidGasExceeded: { total_prepaid_gas: Number(total), limit: Number(MAX_TOTAL_PREPAID_GAS) },
      },
    });
  }
}

/** Validates `tx` against the current state and charges the signer; throws InvalidTransaction. */
export function verifyAndCharge(
  tx: SignedTransaction,
  state: ChainState,
  blocks: BlockStore,
): TransactionCharge {
  if (!isValidAccountId(tx.signerId))
    throw new InvalidTransaction({ InvalidSignerId: { signer_id: tx.signerId } });
  if (!isValidAccountId(tx.receiverId)) {
    throw new InvalidTransaction({ InvalidReceiverId: { receiver_id: tx.receiverId } });
  }
  checkSignature(tx);
  const head = blocks.latest;
  const base = blocks.getByHash(tx.blockHash);
  if (!base) throw new InvalidTransaction("InvalidChain");
  if (head.height - base.height > TRANSACTION_VALIDITY_PERIOD) throw new InvalidTransaction("Expired");
  validateActions(tx);

  const signer = state.getAccount(tx.signerId);
  if (!signer) throw new InvalidTransaction({ SignerDoesNotExist: { signer_id: tx.signerId } });
  const key = state.getAccessKey(tx.signerId, tx.publicKey);
  if (!key) {
    throw new InvalidTransaction(
      invalidAccessKey({ AccessKeyNotFound: { account_id: tx.signerId, public_key: tx.publicKey } }),
    );
  }
  if (tx.nonce <= key.nonce) {
    throw new InvalidTransaction({ InvalidNonce: { tx_nonce: tx.nonce, ak_nonce: key.nonce } });
  }
  const upperBound = (head.height + 1n) * ACCESS_KEY_NONCE_RANGE_MULTIPLIER;
  if (tx.nonce >= upperBound) {
    throw new InvalidTransaction({ NonceTooLarge: { tx_nonce: tx.nonce, upper_bound: upperBound } });
  }

  const conversionGas = sendGas(tx.actions);
  const deposit = attachedDeposit(tx.actions);
  const gas = conversionGas + execGas(tx.actions) + prepaidGas(tx.actions);
  const totalCost = gas * GAS_PRICE + deposit;
  if (signer.amount < totalCost) {
    throw new InvalidTransaction({
      NotEnoughBalance: {
        signer_id: tx.signerId,
        balance: signer.amount.toString(),
        cost: totalCost.toString(),
      },
    });
  }

  let allowance: bigint | null = null;
  if (key.permission !== "FullAccess") {
    const p = key.permission;
    if (p.allowance !== null) {
      if (p.allowance < totalCost) {
        throw new InvalidTransaction(
          invalidAccessKey({
            NotEnoughAllowance: {
              account_id: tx.signerId,
              public_key: tx.publicKey,
              allowance: p.allowance.toString(),
              cost: totalCost.toString(),
            },
          }),
        );
      }
      allowance = p.allowance - totalCost;
    }
  }

  const remaining = signer.amount - totalCost;
  const required = requiredStakeForStorage(
    signer.storageUsage,
    signer.codeHash !== "11111111111111111111111111111111",
  );
  if (remaining + signer.locked < required) {
    throw new InvalidTransaction({
      LackBalanceForState: {
        signer_id: tx.signerId,
        amount: (required - remaining - signer.locked).toString(),
      },
    });
  }

  if (key.permission !== "FullAccess") {
    const p = key.permission;
    const action = tx.actions[0];
    if (tx.actions.length !== 1 || action?.type !== "FunctionCall") {
      throw new InvalidTransaction(invalidAccessKey("RequiresFullAccess"));
    }
    if (action.deposit > 0n) throw new InvalidTransaction(invalidAccessKey("DepositWithFunctionCall"));
    if (tx.receiverId !== p.receiverId) {
      throw new InvalidTransaction(
        invalidAccessKey({ ReceiverMismatch: { tx_receiver: tx.receiverId, ak_receiver: p.receiverId } }),
      );
    }
    if (p.methodNames.length > 0 && !p.methodNames.includes(action.methodName)) {
      throw new InvalidTransaction(
        invalidAccessKey({ MethodNameMismatch: { method_name: action.methodName } }),
      );
    }
  }

  state.setAccount(tx.signerId, { ...signer, amount: remaining });
  const permission =
    key.permission === "FullAccess" || allowance === null ? key.permission : { ...key.permission, allowance };
  state.setAccessKey(tx.signerId, tx.publicKey, { nonce: tx.nonce, permission });
  return { conversionGas, totalCost, deposit };
}
