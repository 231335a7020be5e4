// What a finished call hands to the chain, built from its VMLogic the same way for every engine.
import type { VmFailure } from "./errors.js";
import type { VMLogic } from "./logic.js";
import type { VMOutcome } from "./types.js";

export function outcome(logic: VMLogic, failure: VmFailure | undefined): VMOutcome {
  const base = {
    logs: logic.logs,
    gasBurnt: logic.gas.burnt,
    gasUsed: logic.gas.used,
  };
  if (failure) {
    // nearcore drops everything a failed call produced except logs and gas.
    return {
      ...base,
      returnData: { kind: "None" },
      balance: logic.context.accountBalance,
      storageUsage: logic.context.storageUsage,
      receipts: [],
      stateChanges: [],
      error: failure,
    };
  }
  return {
    ...base,
    returnData: logic.returnData,
    balance: logic.balance,
    storageUsage: logic.storageUsage,
    receipts: logic.receipts,
    stateChanges: logic.stateChanges,
  };
}
