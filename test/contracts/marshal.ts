// Test fixture for localnet's host boundary: strings and numbers go to `env` raw, the way near-sdk-js's
// own code hands them over, and come back as code units (not as JSON strings) so that a test sees
// exactly what the contract saw.
import { call, NearBindgen, near, view } from "near-sdk-js";

// The raw host surface near-sdk-js installs as a global.
declare const env: {
  log(message: unknown): void;
  panic(message?: unknown): void;
  register_len(register: unknown): bigint;
  promise_batch_create(accountId: string): bigint;
  promise_batch_action_transfer(promise: bigint, amount: unknown): void;
  promise_batch_action_function_call(
    promise: bigint,
    method: string,
    args: Uint8Array,
    amount: bigint,
    gas: bigint,
  ): void;
  promise_batch_action_function_call_weight(
    promise: bigint,
    method: string,
    args: unknown,
    amount: bigint,
    gas: bigint,
    weight: bigint,
  ): void;
  utf8_string_to_uint8array(s: string): Uint8Array;
  uint8array_to_utf8_string(a: Uint8Array): string;
  latin1_string_to_uint8array(s: string): Uint8Array;
  uint8array_to_latin1_string(a: Uint8Array): string;
};

const units = (s: string): number[] => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
const fromUnits = (u: number[]): string => String.fromCharCode(...u);
const hex = (a: Uint8Array): string => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (h: string): Uint8Array =>
  new Uint8Array((h.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)));

@NearBindgen({})
export class Marshal {
  @view({})
  utf8_encode({ s }: { s: number[] }): string {
    return hex(env.utf8_string_to_uint8array(fromUnits(s)));
  }

  @view({})
  utf8_decode({ bytes }: { bytes: string }): number[] {
    return units(env.uint8array_to_utf8_string(unhex(bytes)));
  }

  @view({})
  latin1_encode({ s }: { s: number[] }): string {
    return hex(env.latin1_string_to_uint8array(fromUnits(s)));
  }

  @view({})
  latin1_decode({ bytes }: { bytes: string }): number[] {
    return units(env.uint8array_to_latin1_string(unhex(bytes)));
  }

  @view({})
  log_units({ s }: { s: number[] }): void {
    env.log(fromUnits(s));
  }

  @view({})
  panic_units({ s }: { s: number[] }): void {
    env.panic(fromUnits(s));
  }

  @view({})
  throw_units({ s }: { s: number[] }): void {
    throw new Error(fromUnits(s));
  }

  /** register_len on an empty register, with `id` as a Number ("n:…") or a BigInt ("b:…"). */
  @view({})
  read_register_len({ id }: { id: string }): string {
    try {
      return String(env.register_len(id.startsWith("b:") ? BigInt(id.slice(2)) : Number(id.slice(2))));
    } catch (e) {
      return `throws ${(e as Error).name}: ${(e as Error).message}`;
    }
  }

  /** A transfer of `amount` (a BigInt, or a Number for "n:…") to `receiver`; a TypeError is returned. */
  @call({})
  transfer({ receiver, amount }: { receiver: string; amount: string }): string {
    const promise = env.promise_batch_create(receiver);
    try {
      env.promise_batch_action_transfer(
        promise,
        amount.startsWith("n:") ? Number(amount.slice(2)) : BigInt(amount),
      );
      return "ok";
    } catch (e) {
      return `throws ${(e as Error).name}: ${(e as Error).message}`;
    }
  }

  @call({})
  call_units({ receiver, method }: { receiver: number[]; method: number[] }): void {
    const promise = env.promise_batch_create(fromUnits(receiver));
    env.promise_batch_action_function_call(
      promise,
      fromUnits(method),
      new Uint8Array(0),
      0n,
      5_000_000_000_000n,
    );
  }

  /** function_call_weight with near-sdk-js's own argument type, a Uint8Array. */
  @call({})
  call_weight({ args }: { args: string }): void {
    const promise = env.promise_batch_create(near.currentAccountId());
    env.promise_batch_action_function_call_weight(promise, "m", unhex(args), 0n, 0n, 1n);
  }
}
