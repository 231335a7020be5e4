// The operator account on the in-memory chain (`chain.type: memory`: the demo and the fast tests).
// It checks a refund the way refund_unspent does (signer, escrow, amount, tombstone) and, like NEAR,
// runs a transaction once however often its bytes are sent.
import { createHash } from "node:crypto";
import type { SignedRefund } from "#wire";
import { refundSignerAddress } from "#wire/crypto";
import type { MemoryChainClient } from "../chain/memory.js";
import type { OperatorChain, PreparedTx, TxOutcome } from "./types.js";

export class MemoryOperatorChain implements OperatorChain {
  readonly accountId: string;
  /** Outcomes by transaction hash: what the chain has run. */
  readonly executed = new Map<string, TxOutcome>();
  #nonce = 0;

  constructor(
    private readonly chain: MemoryChainClient,
    private readonly options: { accountId: string; signerAddress?: string; chainTime?: () => bigint },
  ) {
    this.accountId = options.accountId;
  }

  /** Refunds that paid (what a test counts as on-chain refunds). */
  get refunds(): number {
    return [...this.executed.values()].filter((o) => o.kind === "success").length;
  }

  async chainTime(): Promise<bigint> {
    return this.options.chainTime?.() ?? BigInt(Date.now()) * 1_000_000n;
  }

  async prepareRefund(refund: SignedRefund, gasTgas: number): Promise<PreparedTx> {
    const body = JSON.stringify({ signer: this.accountId, nonce: ++this.#nonce, gasTgas, refund });
    return {
      hash: createHash("sha256").update(body).digest("hex"),
      signed: Buffer.from(body).toString("base64"),
    };
  }

  async send(tx: PreparedTx): Promise<TxOutcome> {
    const known = this.executed.get(tx.hash);
    if (known) return known;
    const { refund } = JSON.parse(Buffer.from(tx.signed, "base64").toString("utf8")) as {
      refund: SignedRefund;
    };
    const outcome = this.#execute(refund);
    this.executed.set(tx.hash, outcome);
    return outcome;
  }

  async status(tx: PreparedTx): Promise<TxOutcome | undefined> {
    return this.executed.get(tx.hash);
  }

  #execute(refund: SignedRefund): TxOutcome {
    const m = JSON.parse(refund.refund_message) as Record<string, string>;
    const panic = (message: string): TxOutcome => ({ kind: "panic", message });
    if (this.options.signerAddress && refundSignerAddress(refund) !== this.options.signerAddress)
      return panic("signature is not from a configured refund signer");
    const view = this.chain.conversations.get(m.conversation_id!);
    if (!view) return panic(`conversation ${m.conversation_id} not found`);
    if (view.status === "refunded") return panic(`conversation ${m.conversation_id} was already refunded`);
    if (view.status === "reclaimed")
      return panic(`conversation ${m.conversation_id} was already reclaimed by its opener after expiry`);
    if (view.receiver_id !== m.receiver_id || view.deposit !== m.deposit || view.created_at !== m.created_at)
      return panic("refund_message names another escrow");
    if (BigInt(m.refund_amount!) > BigInt(view.deposit)) return panic("refund_amount exceeds the deposit");
    this.chain.markRefunded(m.conversation_id!, BigInt(m.refund_amount!));
    return { kind: "success" };
  }
}
