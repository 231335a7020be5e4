// The "current call" every host function and the interrupt handler read. A QuickJS context (and the
// functions installed in it) can outlive one call when it lives in a snapshot, so nothing installed
// in QuickJS may capture a VMLogic directly: per-call state is swapped in here instead.
import { type HostError, InternalVmError } from "./errors.js";
import { GAS_PER_INTERRUPT_TICK } from "./gas.js";
import type { VMLogic } from "./logic.js";
import { seedWords } from "./prelude.js";

/**
 * Interrupt ticks allowed while a contract module evaluates outside a call (snapshot builds):
 * about what 300 Tgas would pay for. More means the module is unusual; it then runs the slow way.
 */
const MAX_TICKS_OUTSIDE_CALL = 750;

/** Thrown into QuickJS when contract code reaches the host with no call active. */
export class OutsideCallError extends Error {}

export class CallSlot {
  private current: VMLogic | undefined;
  private seed: [number, number, number, number] | undefined;
  /** First unexpected JS error raised by a host function during the current call. */
  internal: unknown;
  /** Interrupt ticks seen while no call was active. */
  ticksOutsideCall = 0;
  /** Set when contract code reached the host (env, Date.now, Math.random) with no call active. */
  touchedOutsideCall = false;

  begin(logic: VMLogic): void {
    this.current = logic;
    this.seed = undefined;
    this.internal = undefined;
  }

  end(): void {
    this.current = undefined;
  }

  get logic(): VMLogic {
    if (!this.current) {
      this.touchedOutsideCall = true;
      throw new OutsideCallError("no contract call is active");
    }
    return this.current;
  }

  /** Block timestamp in ms, for the prelude's Date. */
  nowMs(): number {
    return Number(this.logic.context.blockTimestamp / 1_000_000n);
  }

  /** Word `i` (0..3) of the receipt's random seed, for the prelude's Math.random. */
  seedWord(i: number): number {
    this.seed ??= seedWords(this.logic.context.randomSeed);
    return this.seed[i & 3] as number;
  }

  /** A host function failed in an unexpected way: the call fails, the error is kept for reporting. */
  internalError(e: unknown): void {
    this.internal ??= e;
    this.current?.fail(new InternalVmError(e));
  }

  /** QuickJS's interrupt handler: charges interpretation gas; true stops the contract. */
  interrupt(): boolean {
    const logic = this.current;
    if (!logic) {
      this.ticksOutsideCall++;
      return this.ticksOutsideCall > MAX_TICKS_OUTSIDE_CALL;
    }
    if (logic.fatal) return true;
    try {
      logic.gas.burn(GAS_PER_INTERRUPT_TICK);
    } catch (e) {
      logic.fail(e as HostError);
    }
    return logic.fatal !== undefined;
  }
}
