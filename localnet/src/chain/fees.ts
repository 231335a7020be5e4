// Gas estimates for actions, from nearcore's RuntimeFeesConfig (parameters.yaml). Real gas depends
// on wasm execution that cannot be reproduced offline; these fees plus the VM's own estimate give
// numbers of the right order of magnitude, which is what wallets and tests look at.
import type { Action } from "../vm/types.js";
import type { TxAction } from "./transaction-codec.js";

interface Fee {
  send: bigint;
  exec: bigint;
}

const f = (send: number, exec = send): Fee => ({ send: BigInt(send), exec: BigInt(exec) });

export const FEES = {
  actionReceiptCreation: f(108_059_500_000),
  dataReceiptCreationBase: f(36_486_732_312),
  dataReceiptCreationPerByte: f(17_212_011),
  createAccount: f(3_850_000_000_000),
  deployContractBase: f(184_765_750_000),
  deployContractPerByte: f(6_812_999, 64_572_944),
  functionCallBase: f(2_319_861_500_000),
  functionCallPerByte: f(2_235_934),
  transfer: f(115_123_062_500),
  stake: f(141_715_687_500, 102_217_625_000),
  addKeyFullAccess: f(101_765_125_000),
  addKeyFunctionCall: f(102_217_625_000),
  addKeyPerByte: f(1_925_331),
  deleteKey: f(94_946_625_000),
  deleteAccount: f(147_489_000_000),
  delegate: f(200_000_000_000),
};

function actionFee(action: TxAction, side: keyof Fee): bigint {
  switch (action.type) {
    case "CreateAccount":
      return FEES.createAccount[side];
    case "DeployContract":
      return FEES.deployContractBase[side] + FEES.deployContractPerByte[side] * BigInt(action.code.length);
    case "FunctionCall": {
      const bytes = BigInt(Buffer.byteLength(action.methodName) + action.args.length);
      return FEES.functionCallBase[side] + FEES.functionCallPerByte[side] * bytes;
    }
    case "Transfer":
      return FEES.transfer[side];
    case "Stake":
      return FEES.stake[side];
    case "AddKey": {
      const p = action.accessKey.permission;
      if (p === "FullAccess") return FEES.addKeyFullAccess[side];
      const bytes = BigInt(p.methodNames.reduce((s, m) => s + Buffer.byteLength(m), 0));
      return FEES.addKeyFunctionCall[side] + FEES.addKeyPerByte[side] * bytes;
    }
    case "DeleteKey":
      return FEES.deleteKey[side];
    case "DeleteAccount":
      return FEES.deleteAccount[side];
    case "Delegate":
      return FEES.delegate[side];
  }
}

/** Gas burnt converting a transaction (or a contract's promise) into a receipt. */
export function sendGas(actions: readonly TxAction[]): bigint {
  return actions.reduce((sum, a) => sum + actionFee(a, "send"), FEES.actionReceiptCreation.send);
}

/** Gas burnt by the receiver executing the receipt's actions, wasm execution not included. */
export function execGas(actions: readonly (Action | TxAction)[]): bigint {
  return actions.reduce((sum, a) => sum + actionFee(a as TxAction, "exec"), FEES.actionReceiptCreation.exec);
}

export function prepaidGas(actions: readonly (Action | TxAction)[]): bigint {
  return actions.reduce((sum, a) => sum + (a.type === "FunctionCall" ? a.gas : 0n), 0n);
}

export function attachedDeposit(actions: readonly (Action | TxAction)[]): bigint {
  return actions.reduce(
    (sum, a) => sum + (a.type === "FunctionCall" || a.type === "Transfer" ? a.deposit : 0n),
    0n,
  );
}
