// The last look before the settlement worker submits a refund on chain (payout.ts), kept apart so
// the rule reads on its own.
import type { SignedRefund } from "#wire";
import { refundSignerAddress } from "#wire/crypto";
import type { ConversationStore } from "../store/types.js";

/**
 * Defence in depth (T24): the message about to be submitted must be one this proxy signed, for this
 * escrow, paying the operator no more than the ledger's spent, with no request still in flight.
 */
export async function checkRefund(
  deps: { store: ConversationStore; signerAddress: string },
  id: string,
  refund: SignedRefund,
): Promise<string | undefined> {
  const state = await deps.store.getConversation(id);
  if (!state) return "the conversation left the ledger";
  let message: Record<string, string>;
  try {
    message = JSON.parse(refund.refund_message);
    if (refundSignerAddress(refund) !== deps.signerAddress)
      return "the refund was not signed by this proxy's signer";
  } catch {
    return "the stored refund is not a signed refund message";
  }
  if (message.conversation_id !== id || message.receiver_id !== state.receiver_id)
    return "the refund names another conversation or receiver";
  if (message.deposit !== state.deposit.toString()) return "the refund names another deposit";
  if (state.escrow && message.created_at !== state.escrow.created_at.toString())
    return "the refund names another escrow (created_at)";
  if (state.reserved > 0n) return `${state.reserved} still reserved by requests in flight`;
  const operatorShare = state.deposit - BigInt(message.refund_amount ?? "0");
  if (operatorShare > state.spent)
    return `the refund pays the operator ${operatorShare}, more than the ledger's spent ${state.spent}`;
  return undefined;
}
