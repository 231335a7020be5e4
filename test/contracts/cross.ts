// Test fixture for localnet's VM: cross-contract calls with callbacks, transfers, joins.
import { call, NearBindgen, NearPromise, near, view } from "near-sdk-js";

const TGAS = 1_000_000_000_000n;
// A near-sdk-js call burns 5-15 Tgas on chain (QuickJS starts inside WASM on every call): what each
// created call gets must cover that, or it fails with "Exceeded the prepaid gas." as on testnet.
const CALL_GAS = 30n * TGAS;

@NearBindgen({})
export class CrossContract {
  last_result = "";

  // Calls `method` on `target` with `args`, then reports the outcome in `on_done`.
  @call({ payableFunction: true })
  call_other({
    target,
    method,
    args,
  }: {
    target: string;
    method: string;
    args: Record<string, unknown>;
  }): NearPromise {
    return NearPromise.new(target)
      .functionCall(method, JSON.stringify(args), near.attachedDeposit(), CALL_GAS)
      .then(
        NearPromise.new(near.currentAccountId()).functionCall(
          "on_done",
          JSON.stringify({ method }),
          0n,
          CALL_GAS,
        ),
      );
  }

  @call({ privateFunction: true })
  on_done({ method }: { method: string }): string {
    let outcome: string;
    try {
      outcome = `success:${method}:${near.promiseResult(0)}`;
    } catch {
      outcome = `failure:${method}`;
    }
    this.last_result = outcome;
    return outcome;
  }

  // Two calls joined, one callback that sees both results.
  @call({})
  call_both({ target }: { target: string }): NearPromise {
    const a = NearPromise.new(target).functionCall("get_owner", "{}", 0n, CALL_GAS);
    const b = NearPromise.new(target).functionCall("fail", JSON.stringify({ message: "b" }), 0n, CALL_GAS);
    return a
      .and(b)
      .then(NearPromise.new(near.currentAccountId()).functionCall("on_both", "{}", 0n, CALL_GAS));
  }

  @call({ privateFunction: true })
  on_both(): string {
    const count = near.promiseResultsCount();
    const parts: string[] = [];
    for (let i = 0n; i < count; i++) {
      try {
        parts.push(`ok:${near.promiseResult(Number(i))}`);
      } catch {
        parts.push("failed");
      }
    }
    return parts.join(",");
  }

  @call({ payableFunction: true })
  send_near({ receiver, amount }: { receiver: string; amount: string }): void {
    NearPromise.new(receiver).transfer(BigInt(amount)).build();
  }

  @view({})
  get_last_result(): string {
    return this.last_result;
  }
}
