// Keeping a provider's sub-account funded from the wallet's 0G ledger. The provider refuses a
// request unless the sub-account holds its unsettled fees + 1 0G (MIN_LOCKED); below that the funding
// guard moves ledger → sub-account before the request (topping the ledger up from the wallet first,
// if `ledgerTopUp` allows), or answers 402 without spending anything. After traffic, the ledger is
// kept above `ledgerMinBalance` when top-ups are on. Every transaction goes through the wallet's queue.
import { MIN_LEDGER_BALANCE, MIN_LOCKED, MIN_TRANSFER, readLedger, readSubAccount } from "./chain.js";
import { zeroGErrors } from "./errors.js";
import type { ProviderState, ZeroGStats } from "./types.js";
import type { ZeroGWallet } from "./wallet.js";

/** Left in the wallet for gas: a deposit that would strand the wallet without gas money helps nobody. */
const GAS_RESERVE = 10n ** 16n;

export class Funding {
  constructor(
    private readonly w: ZeroGWallet,
    private readonly stats: ZeroGStats,
  ) {}

  /** The request path's guard; a fresh check (balanceCheckMs) is skipped. */
  async ensureFunded(state: ProviderState): Promise<void> {
    if (Date.now() - state.checkedAt < this.w.config.balanceCheckMs) return;
    await this.w.transaction(async () => {
      const provider = state.service.provider;
      const account = await this.w.guard(() => readSubAccount(this.w.inference, this.w.address, provider));
      const unsettled = account.exists ? await this.#unsettledFee(state) : 0n;
      if (account.locked >= unsettled + MIN_LOCKED) {
        state.checkedAt = Date.now();
        return;
      }
      let deficit = unsettled + BigInt(this.w.config.subAccountBuffer) * MIN_LOCKED - account.locked;
      if (deficit < MIN_TRANSFER) deficit = MIN_TRANSFER;
      await this.#ensureLedgerAvailable(deficit);
      await this.w.guard(async () => {
        const name = await this.w.serviceName();
        const transfer = this.w.ledger.getFunction("transferFund");
        await (await transfer(provider, name, deficit, this.w.txOptions())).wait();
      });
      this.stats.transfers++;
      state.checkedAt = Date.now();
    });
  }

  /** After traffic: keep the ledger above `ledgerMinBalance` (wallet → ledger), if top-ups are on. */
  async topUpLedgerIfLow(): Promise<void> {
    const { ledgerTopUp, ledgerMinBalance } = this.w.config;
    if (ledgerTopUp === 0n) return;
    await this.w.transaction(async () => {
      const ledger = await this.#readLedger();
      if (ledger.exists && ledger.available >= ledgerMinBalance) return;
      const amount = !ledger.exists && ledgerTopUp < MIN_LEDGER_BALANCE ? MIN_LEDGER_BALANCE : ledgerTopUp;
      await this.#deposit(amount, ledgerMinBalance);
    });
  }

  async #unsettledFee(state: ProviderState): Promise<bigint> {
    try {
      const broker = await this.w.broker();
      const headers = (await broker.inference.getRequestHeaders(state.service.provider)) as unknown as Record<
        string,
        string
      >;
      const r = await fetch(`${state.service.url}/v1/user/${this.w.address}/unsettledfee`, {
        headers,
        signal: AbortSignal.timeout(this.w.config.probeTimeoutMs),
      });
      if (!r.ok) return 0n;
      return BigInt(((await r.json()) as { unsettledFee?: string }).unsettledFee ?? "0");
    } catch {
      return 0n; // not acknowledged yet / endpoint unsupported: the provider itself is the backstop
    }
  }

  /** Makes `need` wei available in the ledger, depositing from the wallet if top-ups are on; else 402. */
  async #ensureLedgerAvailable(need: bigint): Promise<void> {
    const ledger = await this.#readLedger();
    if (ledger.available >= need) return;
    const shortBy = need - ledger.available;
    const topUp = this.w.config.ledgerTopUp;
    if (topUp === 0n) {
      throw zeroGErrors.ledgerTooLow(
        `0G ledger balance too low: ${ledger.available} wei available, ${need} wei needed (auto top-up is off; deposit with npm run 0g:deposit)`,
      );
    }
    // biome-ignore lint/complexity/useMathMinMax: bigint amounts; Math.max would coerce them to floats
    let deposit = topUp > shortBy ? topUp : shortBy;
    if (!ledger.exists && deposit < MIN_LEDGER_BALANCE) deposit = MIN_LEDGER_BALANCE;
    await this.#deposit(deposit, need);
  }

  async #deposit(amount: bigint, need: bigint): Promise<void> {
    const wallet = await this.w.guard(() => this.w.rpc.getBalance(this.w.address));
    if (wallet < amount + GAS_RESERVE) {
      throw zeroGErrors.ledgerTooLow(
        `0G ledger needs ${need} wei and the wallet ${this.w.address} holds only ${wallet} wei; fund the wallet, then npm run 0g:deposit`,
      );
    }
    await this.w.guard(async () => {
      const deposit = this.w.ledger.getFunction("depositFund");
      await (await deposit({ ...this.w.txOptions(), value: amount })).wait();
    });
    this.stats.topUps++;
  }

  #readLedger() {
    return this.w.guard(() => readLedger(this.w.ledger, this.w.address));
  }
}
