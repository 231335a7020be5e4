// Test fixture: a NEP-141 receiver for ft_transfer_call, plus `forward`, which calls any method of
// any contract from this contract's account (the "third-party contract" of T04).
//   msg "return:<n>" -> returns n as unused;  "panic" -> panics;  "garbage" -> returns a non-U128;
//   anything else -> keeps everything (returns "0").
import { call, NearBindgen, NearPromise, near, view } from "near-sdk-js";

const TGAS = 1_000_000_000_000n;

@NearBindgen({})
export class FtReceiver {
  received = "0";

  @call({})
  ft_on_transfer({ sender_id, amount, msg }: { sender_id: string; amount: string; msg: string }): string {
    near.log(`ft_on_transfer from ${sender_id} amount ${amount} msg ${msg}`);
    if (msg === "panic") throw new Error("receiver refuses the tokens");
    this.received = (BigInt(this.received) + BigInt(amount)).toString();
    if (msg === "garbage") return "not a number";
    if (msg.startsWith("return:")) return msg.slice("return:".length);
    return "0";
  }

  @call({ payableFunction: true })
  forward({
    contract_id,
    method,
    args,
  }: {
    contract_id: string;
    method: string;
    args: Record<string, unknown>;
  }) {
    return NearPromise.new(contract_id).functionCall(
      method,
      JSON.stringify(args),
      near.attachedDeposit(),
      100n * TGAS,
    );
  }

  @view({})
  get_received(): string {
    return this.received;
  }
}
