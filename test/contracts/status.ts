// Test fixture for localnet's VM: per-account status messages plus methods that expose what the
// runtime hands a contract (context, logs, panics, init).
import { call, encode, initialize, NearBindgen, near, UnorderedMap, view } from "near-sdk-js";

@NearBindgen({})
export class StatusContract {
  owner = "";
  statuses: UnorderedMap<string> = new UnorderedMap<string>("s");

  @initialize({})
  init({ owner }: { owner: string }): void {
    this.owner = owner;
  }

  @call({})
  set_status({ message }: { message: string }): void {
    this.statuses.set(near.predecessorAccountId(), message);
  }

  @view({})
  get_status({ account_id }: { account_id: string }): string | null {
    return this.statuses.get(account_id);
  }

  @view({})
  get_owner(): string {
    return this.owner;
  }

  @call({})
  fail({ message }: { message: string }): void {
    throw new Error(message);
  }

  @view({})
  fail_view(): void {
    near.panicUtf8(encode("explicit panic"));
  }

  @call({})
  log_something({ lines }: { lines: string[] }): number {
    for (const line of lines) near.log(line);
    return lines.length;
  }

  @call({ payableFunction: true })
  context(): Record<string, string | number> {
    return {
      current: near.currentAccountId(),
      predecessor: near.predecessorAccountId(),
      signer: near.signerAccountId(),
      deposit: near.attachedDeposit().toString(),
      block_height: near.blockHeight().toString(),
      block_timestamp: near.blockTimestamp().toString(),
      date_now: Date.now(),
      random: Math.random(),
      random2: Math.random(),
      prepaid_gas: near.prepaidGas().toString(),
      used_gas: near.usedGas().toString(),
      balance: near.accountBalance().toString(),
      storage_usage: near.storageUsage().toString(),
    };
  }

  @view({})
  view_context(): Record<string, string | number> {
    return { current: near.currentAccountId(), date_now: Date.now(), random: Math.random() };
  }

  // Leaves a global behind; the next call must not see it.
  @call({})
  touch_global(): string {
    const g = globalThis as unknown as { __leak?: number };
    const before = g.__leak === undefined ? "fresh" : `leaked:${g.__leak}`;
    g.__leak = 42;
    return before;
  }

  @call({})
  burn({ iterations }: { iterations: number }): number {
    let x = 0;
    for (let i = 0; i < iterations; i++) x = (x * 31 + i) % 1000003;
    return x;
  }

  @view({})
  hash({ text }: { text: string }): string {
    const bytes = near.sha256(encode(text));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  @view({})
  recover({ hash, sig, v, flag }: { hash: string; sig: string; v: number; flag: number }): string | null {
    const hex = (s: string) => new Uint8Array((s.match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));
    const key = near.ecrecover(hex(hash), hex(sig), v, flag);
    return key === null ? null : Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
  }
}
