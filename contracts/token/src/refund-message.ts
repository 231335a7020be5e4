// The signed refund message, v2: canonical JSON with exactly these keys in this order, every value a
// string (`#wire` encodeRefundMessage writes it; ARCHITECTURE.md "Refund signatures"):
//   {"contract_id","deployment","conversation_id","receiver_id","deposit","created_at","refund_amount"}
// contract_id + deployment bind this deployment (T01, T16); deposit + created_at bind the escrow.
import type { RefundMessage } from "#wire";
import { fail, need } from "./util";

const KEYS = [
  "contract_id",
  "deployment",
  "conversation_id",
  "receiver_id",
  "deposit",
  "created_at",
  "refund_amount",
] as const;

export function parseRefundMessage(refundMessage: unknown): RefundMessage {
  need(typeof refundMessage === "string", "refund_message must be a string");
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(refundMessage);
  } catch (_) {
    fail("refund_message is not valid JSON");
  }
  need(parsed !== null && typeof parsed === "object", "refund_message must be a JSON object");
  const canonical: Record<string, unknown> = {};
  for (const key of KEYS) {
    need(typeof parsed[key] === "string", `refund_message fields ${KEYS.join(", ")} must be strings`);
    canonical[key] = parsed[key];
  }
  // Exactly the bytes the proxy signs: no extra keys, no other order or spacing.
  need(
    JSON.stringify(canonical) === refundMessage,
    `refund_message must be canonical JSON with the keys ${KEYS.join(", ")} in this order and no spaces`,
  );
  return canonical as unknown as RefundMessage;
}
