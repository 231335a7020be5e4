// AI-conversation token: NEP-141 fungible token (+ NEP-145 storage, NEP-148 metadata, NEP-297
// events) with conversation escrow, signed refunds, NEAR purchases and a web4 front end.
// This file is the contract surface only; each concern lives in its own module.
import { NearPromise, near } from "near-sdk-js";
import { call, entry, NearBindgen, view } from "./bindgen";
import * as conversations from "./conversations";
import * as events from "./events";
import * as ledger from "./ledger";
import { validMetadata } from "./metadata";
import { measureConversationStorage } from "./records";
import type { ExpiryBounds, FtMetadata, State, Web4Config } from "./state";
import {
  accountId,
  assertOneYocto,
  fail,
  holderId,
  need,
  positiveU128,
  sendNear,
  toHex,
  U128_MAX,
  u128,
} from "./util";
import * as web4 from "./web4";

// near-sdk-js contracts run in QuickJS, which costs far more gas than Rust: these leave room for it.
const TGAS = 1_000_000_000_000n;
const GAS_FOR_RESOLVE_TRANSFER = 40n * TGAS;
const GAS_FOR_FT_TRANSFER_CALL = 100n * TGAS;
// What this call still burns after handing gas on: two function-call receipts (~10 Tgas of
// send + exec fees), the data dependency and the state write.
const GAS_RESERVED_FOR_THIS_CALL = 30n * TGAS;
const GAS_FOR_ON_WITHDRAW_NEAR = 20n * TGAS;
// withdraw_near itself (~8 Tgas on localnet), the transfer and callback receipts, and its callback.
const GAS_FOR_WITHDRAW_NEAR = 50n * TGAS;
const MAX_REFUND_SIGNERS = 10;

interface StorageBalance {
  total: string;
  available: string;
}

@NearBindgen({ requireInit: true })
export class Token implements State {
  owner_id = "";
  deployment = "";
  operator_id = "";
  total_supply = "0";
  escrow_total = "0";
  token_price = "0";
  refund_signers: string[] = [];
  metadata: FtMetadata = {
    spec: "ft-1.0.0",
    name: "",
    symbol: "",
    icon: null,
    reference: null,
    reference_hash: null,
    decimals: 0,
  };
  account_storage_bytes = "0";
  conversation_storage_bytes = "0";
  conversation_expiry: ExpiryBounds = { ...conversations.DEFAULT_EXPIRY };
  web4: Web4Config = { proxy_url: "", network: "", rpc_url: "" };
  web4_paths: string[] = [];
  // State written by a version without the next two fields reads them back as undefined
  // (near-sdk-js's reconstruction): every read of them goes through `??`. (`migrate` fills the
  // fields of later versions instead.)
  near_proceeds = "0";
  registered_accounts = 0;

  /**
   * NEP-141 `new` (see the hand-written export at the end of this file). Only the contract account
   * may call it, so nobody can initialise a contract between its DeployContract and its `new`: deploy
   * paths send both in one transaction from that account (T15).
   */
  init({
    owner_id,
    total_supply,
    metadata,
  }: {
    owner_id: string;
    total_supply: string;
    metadata: FtMetadata;
  }) {
    need(
      near.predecessorAccountId() === near.currentAccountId(),
      `new can only be called by ${near.currentAccountId()} itself: send DeployContract and new in one transaction from the contract account`,
    );
    this.owner_id = holderId(owner_id, "owner_id");
    this.deployment = drawDeployment();
    this.operator_id = this.owner_id;
    this.metadata = validMetadata(metadata);
    const supply = u128(total_supply, "total_supply");
    this.total_supply = supply.toString();
    this.account_storage_bytes = ledger.measureAccountStorage().toString();
    this.conversation_storage_bytes = measureConversationStorage().toString();
    ledger.setBalance(this.owner_id, supply);
    this.registered_accounts = 1;
    events.ftMint(this.owner_id, supply, "new");
  }

  // ---------------------------------------------------------------- NEP-141

  @call({ payableFunction: true })
  ft_transfer({ receiver_id, amount, memo }: { receiver_id: string; amount: string; memo?: string }) {
    assertOneYocto();
    this.transfer(near.predecessorAccountId(), receiver_id, amount, memo);
  }

  @call({ payableFunction: true })
  ft_transfer_call({
    receiver_id,
    amount,
    memo,
    msg,
  }: {
    receiver_id: string;
    amount: string;
    memo?: string;
    msg: string;
  }) {
    assertOneYocto();
    need(typeof msg === "string", "msg must be a string");
    const prepaid = near.prepaidGas();
    need(
      prepaid >= GAS_FOR_FT_TRANSFER_CALL,
      `More gas is required: attach at least ${GAS_FOR_FT_TRANSFER_CALL}`,
    );
    const sender_id = near.predecessorAccountId();
    const value = this.transfer(sender_id, receiver_id, amount, memo);
    const onTransferGas = prepaid - near.usedGas() - GAS_FOR_RESOLVE_TRANSFER - GAS_RESERVED_FOR_THIS_CALL;
    const args = (o: object) => JSON.stringify(o);
    return NearPromise.new(receiver_id)
      .functionCall("ft_on_transfer", args({ sender_id, amount: value.toString(), msg }), 0n, onTransferGas)
      .then(
        NearPromise.new(near.currentAccountId()).functionCall(
          "ft_resolve_transfer",
          args({ sender_id, receiver_id, amount: value.toString() }),
          0n,
          GAS_FOR_RESOLVE_TRANSFER,
        ),
      );
  }

  /** Returns the amount the receiver kept (NEP-141: "used"); the unused part goes back to the sender. */
  @call({ privateFunction: true })
  ft_resolve_transfer({
    sender_id,
    receiver_id,
    amount,
  }: {
    sender_id: string;
    receiver_id: string;
    amount: string;
  }) {
    const sent = u128(amount, "amount");
    let unused = sent;
    try {
      // A receiver that panicked, or returned garbage, gets nothing: everything is returned.
      unused = u128(JSON.parse(near.promiseResult(0)), "unused amount");
      if (unused > sent) unused = sent;
    } catch (_) {
      unused = sent;
    }
    if (unused === 0n) return sent.toString();
    // The receiver may have spent or unregistered since: return only what it still holds.
    const receiverBalance = ledger.balanceOf(receiver_id) ?? 0n;
    const refund = unused < receiverBalance ? unused : receiverBalance;
    if (refund === 0n) return sent.toString();
    ledger.setBalance(receiver_id, receiverBalance - refund);
    const senderBalance = ledger.balanceOf(sender_id);
    if (senderBalance === null) {
      // The sender unregistered meanwhile: the tokens have no owner left, so they are burnt.
      this.total_supply = (BigInt(this.total_supply) - refund).toString();
      events.ftBurn(receiver_id, refund, "refund to unregistered sender");
    } else {
      ledger.setBalance(sender_id, senderBalance + refund);
      events.ftTransfer(receiver_id, sender_id, refund, "refund");
    }
    return (sent - refund).toString();
  }

  @view({})
  ft_total_supply() {
    return this.total_supply;
  }

  /** The contract account's balance is the open escrow (it cannot register a balance of its own). */
  @view({})
  ft_balance_of({ account_id }: { account_id: string }) {
    if (account_id === near.currentAccountId()) return this.escrow_total;
    return (ledger.balanceOf(account_id) ?? 0n).toString();
  }

  @view({})
  ft_metadata() {
    return this.metadata;
  }

  // ---------------------------------------------------------------- NEP-145
  // Balances need a fixed amount of storage, so min == max and `available` is always 0.

  @call({ payableFunction: true })
  storage_deposit({ account_id }: { account_id?: string; registration_only?: boolean }): StorageBalance {
    const attached = near.attachedDeposit();
    const payer = near.predecessorAccountId();
    const account = account_id == null ? payer : accountId(account_id, "account_id");
    need(account !== near.currentAccountId(), "The token contract itself cannot be registered");
    const min = this.storageMin();
    if (ledger.isRegistered(account)) {
      near.log("The account is already registered, refunding the deposit");
      sendNear(payer, attached);
    } else {
      need(attached >= min, `The attached deposit is less than the minimum storage balance (${min})`);
      ledger.setBalance(account, 0n);
      this.registered_accounts = (this.registered_accounts ?? 0) + 1;
      sendNear(payer, attached - min);
    }
    return { total: min.toString(), available: "0" };
  }

  @call({ payableFunction: true })
  storage_withdraw({ amount }: { amount?: string }): StorageBalance {
    assertOneYocto();
    const account = near.predecessorAccountId();
    ledger.registeredBalance(account);
    need(
      amount == null || u128(amount, "amount") === 0n,
      "The amount is greater than the available storage balance",
    );
    return { total: this.storageMin().toString(), available: "0" };
  }

  @call({ payableFunction: true })
  storage_unregister({ force }: { force?: boolean }): boolean {
    assertOneYocto();
    const account = near.predecessorAccountId();
    const balance = ledger.balanceOf(account);
    if (balance === null) {
      near.log(`The account ${account} is not registered`);
      return false;
    }
    need(
      account !== this.operator_id,
      "The operator account cannot unregister (the owner must set_operator first)",
    );
    if (balance > 0n) {
      need(force === true, "Can't unregister the account with the positive balance without force");
      this.total_supply = (BigInt(this.total_supply) - balance).toString();
      events.ftBurn(account, balance, "storage_unregister");
    }
    ledger.removeAccount(account);
    this.registered_accounts = Math.max(0, (this.registered_accounts ?? 0) - 1);
    sendNear(account, this.storageMin() + 1n);
    return true;
  }

  @view({})
  storage_balance_bounds() {
    const min = this.storageMin().toString();
    return { min, max: min };
  }

  @view({})
  storage_balance_of({ account_id }: { account_id: string }): StorageBalance | null {
    if (!ledger.isRegistered(account_id)) return null;
    return { total: this.storageMin().toString(), available: "0" };
  }

  // ---------------------------------------------------------------- conversations

  /** Attach 1 yoctoNEAR + the record's storage (≤ get_config.conversation_deposit_max; excess refunded). */
  @call({ payableFunction: true })
  start_ai_conversation(args: { conversation_id: string; amount: string; expires_in_secs?: number }) {
    conversations.start(this, args);
  }

  @view({})
  view_ai_conversation({ conversation_id }: { conversation_id: string }) {
    return conversations.view(this, conversation_id);
  }

  /** The account's conversations, newest first: `{account_id, total, conversations, next}`. */
  @view({})
  list_ai_conversations(args: { account_id: string; before?: number; limit?: number }) {
    return conversations.list(this, args);
  }

  @call({})
  refund_unspent({ refund_message, signature }: { refund_message: string; signature: string }) {
    conversations.refund(this, refund_message, signature);
  }

  /** After expires_at: the whole deposit back to the opener, whoever calls. Returns the amount. */
  @call({})
  reclaim_expired_conversation({ conversation_id }: { conversation_id: string }) {
    return conversations.reclaim(this, conversation_id);
  }

  // ---------------------------------------------------------------- sale

  /** Mints attached / token_price units to the (registered) predecessor; the remainder is refunded. */
  @call({ payableFunction: true })
  buy_tokens_for_near() {
    const price = BigInt(this.token_price);
    need(price > 0n, "Token sale is disabled (token_price is 0)");
    const buyer = near.predecessorAccountId();
    ledger.registeredBalance(buyer);
    const attached = near.attachedDeposit();
    const units = attached / price;
    need(units > 0n, `Attach at least ${price} yoctoNEAR (the price of one token unit)`);
    const supply = BigInt(this.total_supply) + units;
    need(supply <= U128_MAX, "total_supply would overflow u128");
    ledger.deposit(buyer, units);
    this.total_supply = supply.toString();
    this.near_proceeds = (this.proceeds() + units * price).toString();
    sendNear(buyer, attached - units * price);
    events.ftMint(buyer, units, "buy_tokens_for_near");
    return units.toString();
  }

  // ---------------------------------------------------------------- owner

  /**
   * Sends `amount` yoctoNEAR (default: all of get_withdrawable_near) of the sale proceeds to
   * `receiver_id` (default: the owner). Exactly 1 yoctoNEAR, like ft_transfer: a function-call access
   * key cannot call it.
   * Returns the amount sent ("0" if the transfer failed, which makes it withdrawable again).
   */
  @call({ payableFunction: true })
  withdraw_near({ amount, receiver_id }: { amount?: string; receiver_id?: string }) {
    this.onlyOwner();
    assertOneYocto();
    need(
      near.prepaidGas() >= GAS_FOR_WITHDRAW_NEAR,
      `More gas is required: attach at least ${GAS_FOR_WITHDRAW_NEAR}`,
    );
    const receiver = receiver_id == null ? this.owner_id : accountId(receiver_id, "receiver_id");
    const here = near.currentAccountId();
    need(receiver !== here, "receiver_id cannot be the token contract itself");
    const available = this.withdrawableNear();
    const value = amount == null ? available : positiveU128(amount, "amount");
    need(value > 0n, "Nothing to withdraw (get_withdrawable_near is 0)");
    need(value <= available, `amount ${value} exceeds the withdrawable NEAR (${available} yoctoNEAR)`);
    this.near_proceeds = (this.proceeds() - value).toString();
    near.log(`withdraw_near: ${value} yoctoNEAR to ${receiver}`);
    return NearPromise.new(receiver)
      .transfer(value)
      .then(
        NearPromise.new(here).functionCall(
          "on_withdraw_near",
          JSON.stringify({ amount: value.toString() }),
          0n,
          GAS_FOR_ON_WITHDRAW_NEAR,
        ),
      );
  }

  /** A failed transfer (e.g. receiver_id does not exist) comes back to the contract: re-credit it. */
  @call({ privateFunction: true })
  on_withdraw_near({ amount }: { amount: string }) {
    try {
      near.promiseResult(0);
      return amount;
    } catch (_) {
      this.near_proceeds = (this.proceeds() + u128(amount, "amount")).toString();
      near.log(`withdraw_near: the transfer failed, ${amount} yoctoNEAR is withdrawable again`);
      return "0";
    }
  }

  @call({})
  set_refund_signers({ signers }: { signers: string[] }) {
    this.onlyOwner();
    need(
      Array.isArray(signers) && signers.length <= MAX_REFUND_SIGNERS,
      `signers must be an array of at most ${MAX_REFUND_SIGNERS} addresses`,
    );
    const normalized: string[] = [];
    for (const signer of signers) {
      need(
        typeof signer === "string" && /^0x[0-9a-fA-F]{40}$/.test(signer),
        `invalid signer address ${JSON.stringify(signer)}`,
      );
      const address = signer.toLowerCase();
      if (!normalized.includes(address)) normalized.push(address);
    }
    this.refund_signers = normalized;
  }

  @call({})
  set_token_price({ price }: { price: string }) {
    this.onlyOwner();
    this.token_price = u128(price, "price").toString();
  }

  @call({})
  set_operator({ operator_id }: { operator_id: string }) {
    this.onlyOwner();
    const operator = holderId(operator_id, "operator_id");
    ledger.registeredBalance(operator);
    this.operator_id = operator;
  }

  /** Bounds of the lifetime openers may choose (seconds); conversations already open keep theirs. */
  @call({})
  set_conversation_expiry(bounds: ExpiryBounds) {
    this.onlyOwner();
    this.conversation_expiry = conversations.validExpiryBounds(bounds);
  }

  /**
   * Brings the state of an upgraded contract up to this version: fills what earlier versions lacked
   * (the deployment nonce, expiry bounds) and re-measures a conversation's storage. Idempotent; only the contract
   * account calls it, in the same transaction as the DeployContract of the upgrade (so a failing
   * migration rolls the code back too).
   */
  @call({ privateFunction: true })
  migrate() {
    if (!this.deployment) this.deployment = drawDeployment();
    if (!this.conversation_expiry) this.conversation_expiry = { ...conversations.DEFAULT_EXPIRY };
    // Conversations grew an index entry in v2; a registration's bytes never change (so the NEP-145
    // bounds users paid stay what storage_unregister returns).
    this.conversation_storage_bytes = measureConversationStorage().toString();
    return { deployment: this.deployment };
  }

  @call({})
  set_owner({ owner_id }: { owner_id: string }) {
    this.onlyOwner();
    this.owner_id = accountId(owner_id, "owner_id");
  }

  @call({})
  set_web4_config(config: Partial<Web4Config>) {
    this.onlyOwner();
    const next = { ...this.web4 };
    for (const key of ["proxy_url", "network", "rpc_url"] as const) {
      const value = config[key];
      if (value === undefined) continue;
      need(
        typeof value === "string" && value.length <= 512,
        `${key} must be a string of at most 512 characters`,
      );
      next[key] = value;
    }
    this.web4 = next;
  }

  /** Payable so the owner can top up the contract balance that stakes the bundle's storage. */
  @call({ payableFunction: true })
  post_web4_bundle({ assets, reset }: { assets: Record<string, unknown>; reset?: boolean }) {
    this.onlyOwner();
    web4.postBundle(this, assets, reset);
  }

  // ---------------------------------------------------------------- views

  @view({})
  web4_get({ request }: { request: { accountId?: string; path: string; query?: unknown } }) {
    return web4.get(this, request);
  }

  @view({})
  get_config() {
    const byteCost = near.storageByteCost();
    return {
      owner_id: this.owner_id,
      deployment: this.deployment,
      operator_id: this.operator_id,
      token_price: this.token_price,
      refund_signers: this.refund_signers,
      total_supply: this.total_supply,
      escrow_total: this.escrow_total,
      web4: this.web4,
      web4_paths: this.web4_paths,
      storage_balance_min: this.storageMin().toString(),
      // Upper bound of start_ai_conversation's deposit (1 yoctoNEAR + the record's storage).
      conversation_deposit_max: (1n + BigInt(this.conversation_storage_bytes) * byteCost).toString(),
      conversation_expiry: this.conversation_expiry,
    };
  }

  /** yoctoNEAR withdraw_near can send now: unwithdrawn sale proceeds, capped by what the account can spare. */
  @view({})
  get_withdrawable_near() {
    return this.withdrawableNear().toString();
  }

  @view({})
  get_owner() {
    return this.owner_id;
  }

  @view({})
  get_operator() {
    return this.operator_id;
  }

  @view({})
  get_token_price() {
    return this.token_price;
  }

  @view({})
  get_refund_signers() {
    return this.refund_signers;
  }

  // ---------------------------------------------------------------- helpers (not exported)

  onlyOwner(): void {
    need(near.predecessorAccountId() === this.owner_id, "Only the owner can call this method");
  }

  storageMin(): bigint {
    return BigInt(this.account_storage_bytes) * near.storageByteCost();
  }

  proceeds(): bigint {
    return BigInt(this.near_proceeds ?? "0");
  }

  /**
   * Sale proceeds, but never the NEAR the contract needs: the stake of its current storage, plus a full
   * registration cost per balance record (what storage_unregister pays back). Deliberately
   * conservative: a record's own bytes are counted in both.
   */
  withdrawableNear(): bigint {
    const reserved =
      near.storageUsage() * near.storageByteCost() +
      BigInt(this.registered_accounts ?? 0) * this.storageMin();
    const spare = near.accountBalance() - reserved;
    const proceeds = this.proceeds();
    if (spare < proceeds) return spare > 0n ? spare : 0n;
    return proceeds;
  }

  transfer(sender: string, receiverArg: string, amountArg: string, memo?: string): bigint {
    const receiver = accountId(receiverArg, "receiver_id");
    const amount = positiveU128(amountArg, "amount");
    need(sender !== receiver, "Sender and receiver should be different");
    need(
      memo == null || (typeof memo === "string" && memo.length <= 256),
      "memo must be a string of at most 256 characters",
    );
    ledger.registeredBalance(receiver);
    ledger.withdraw(sender, amount);
    ledger.deposit(receiver, amount);
    events.ftTransfer(sender, receiver, amount, memo ?? undefined);
    return amount;
  }
}

// The initializer is called `new` (the name NEAR tooling expects), but `new` cannot name a function
// declaration, which is what near-sdk-js's @initialize generates. This is that wrapper, written by hand
// and exported under the reserved name.
const Contract = Token as unknown as {
  _getState(): unknown;
  _create(): Token;
  _getArgs(): Parameters<Token["init"]>[0];
  _saveToStorage(contract: Token): void;
};
const initWrapper = entry(() => {
  if (Contract._getState()) fail("Contract already initialized");
  const contract = Contract._create();
  contract.init(Contract._getArgs());
  Contract._saveToStorage(contract);
});

/** 16 bytes of the block's random seed, hex: unique per deployment. */
function drawDeployment(): string {
  return toHex(near.randomSeed().slice(0, 16));
}

export { initWrapper as new };
