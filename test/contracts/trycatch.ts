// Test fixture for localnet's VM: host errors and panics must stay fatal even when contract code
// catches the exception they raise.
import { call, encode, NearBindgen, near, view } from "near-sdk-js";

// The raw host surface near-sdk-js installs as a global.
declare const env: { promise_result(index: number, register: number): bigint };

@NearBindgen({})
export class TryCatchContract {
  marker = "untouched";

  @call({})
  swallow_panic(): string {
    try {
      near.panicUtf8(encode("swallowed panic"));
    } catch {
      // ignored on purpose
    }
    this.marker = "after panic";
    return "survived";
  }

  @call({})
  swallow_host_error(): string {
    try {
      // No promise results in a plain call: nearcore raises InvalidPromiseResultIndex.
      env.promise_result(99, 0);
    } catch {
      // ignored on purpose
    }
    this.marker = "after host error";
    return "survived";
  }

  @call({})
  plain_catch(): string {
    try {
      throw new Error("ordinary");
    } catch {
      this.marker = "caught ordinary";
    }
    return this.marker;
  }

  @view({})
  get_marker(): string {
    return this.marker;
  }
}
