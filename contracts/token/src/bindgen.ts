// Our own `NearBindgen`, `call` and `view`, used exactly like near-sdk-js's (its build recognises
// them by name and generates the same exported wrappers). Hand-written for two reasons:
// - Semantics: near-sdk-js lets an exception escape to its C builder, which panics with the message
//   *plus QuickJS's stack trace* ("…not enough balance\n    at fail (contract.js:3368:18)…"). Here
//   every failure, ours or the wrapper's (private function, deposit on a view-like call, bad JSON
//   arguments, uninitialised contract), is `panic_utf8(reason)`: "Smart contract panicked: <reason>".
// - Size and gas: the SDK's state reconstruction pulls lodash's cloneDeep (~25 KB of the minified
//   contract, loaded by QuickJS on every call) to support nested classes this contract does not
//   have. Its STATE is plain JSON (strings, numbers, arrays, objects), which is byte for byte what the
//   SDK's serializer writes for such values, so state written by earlier versions reads back the same.
import { decode, encode, near } from "near-sdk-js";

const STATE_KEY = "STATE";

/** Aborts the call with the reason alone. A host panic cannot be caught by contract code. */
export function panic(error: unknown): never {
  near.panicUtf8(encode(error instanceof Error ? error.message : String(error)));
  throw error; // not reached: the host has already aborted the call
}

/** Runs a method, turning any error into a panic with its reason. */
function guard(descriptor: PropertyDescriptor, check?: () => void): void {
  const inner = descriptor.value as (...args: unknown[]) => unknown;
  descriptor.value = function (this: unknown, ...args: unknown[]) {
    try {
      check?.();
      return inner.apply(this, args);
    } catch (error) {
      return panic(error);
    }
  };
}

export function call({
  privateFunction = false,
  payableFunction = false,
}: {
  privateFunction?: boolean;
  payableFunction?: boolean;
}) {
  return (_target: object, _key: string | symbol, descriptor: PropertyDescriptor): void =>
    guard(descriptor, () => {
      if (privateFunction && near.predecessorAccountId() !== near.currentAccountId())
        throw new Error("Function is private");
      if (!payableFunction && near.attachedDeposit() > 0n)
        throw new Error("Function is not payable: attach no deposit");
    });
}

export function view(_options: Record<string, never>) {
  return (_target: object, _key: string | symbol, descriptor: PropertyDescriptor): void => guard(descriptor);
}

const json = (value: unknown) =>
  JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));

/** The static hooks near-sdk-js's generated method wrappers call. */
// biome-ignore lint/suspicious/noExplicitAny: class decorators receive and return any constructor
export function NearBindgen({ requireInit = false }: { requireInit?: boolean }): (target: any) => any {
  return (target: { new (): Record<string, unknown> }) =>
    class extends target {
      static _create() {
        return new target();
      }
      static _getState(): Record<string, unknown> | null {
        const raw = near.storageReadRaw(encode(STATE_KEY));
        return raw ? JSON.parse(decode(raw)) : null;
      }
      static _saveToStorage(contract: object): void {
        near.storageWriteRaw(encode(STATE_KEY), encode(json(contract)));
      }
      static _getArgs(): Record<string, unknown> {
        let args: unknown;
        try {
          args = JSON.parse(near.input() || "{}");
        } catch (_) {
          panic("arguments must be a JSON object");
        }
        if (args === null || typeof args !== "object" || Array.isArray(args))
          panic("arguments must be a JSON object");
        return args as Record<string, unknown>;
      }
      /** Every field the class declares takes the stored value (undefined if an older version lacked it). */
      static _reconstruct(contract: Record<string, unknown>, state: Record<string, unknown>) {
        for (const key of Object.keys(contract)) contract[key] = state[key];
        return contract;
      }
      static _serialize(value: unknown, _forReturn?: boolean): Uint8Array {
        return encode(json(value));
      }
      // The generated wrapper asks this only when there is no state yet.
      static _requireInit(): boolean {
        if (requireInit) panic("The contract is not initialized: its account must call new first");
        return false;
      }
    };
}

/** Runs a hand-written entry point (like `new`) under the same rule. */
export function entry(run: () => void): () => void {
  return () => {
    try {
      run();
    } catch (error) {
      panic(error);
    }
  };
}
