// NEP-297 events: one `EVENT_JSON:` log line per event, `data` always an array.
import { near } from "near-sdk-js";

export function emit(standard: string, event: string, data: Record<string, unknown>): void {
  near.log(`EVENT_JSON:${JSON.stringify({ standard, version: "1.0.0", event, data: [data] })}`);
}

const nep141 = (event: string, data: Record<string, unknown>) => emit("nep141", event, data);

export function ftMint(owner_id: string, amount: bigint, memo?: string): void {
  nep141("ft_mint", { owner_id, amount: amount.toString(), memo });
}

export function ftBurn(owner_id: string, amount: bigint, memo?: string): void {
  nep141("ft_burn", { owner_id, amount: amount.toString(), memo });
}

export function ftTransfer(old_owner_id: string, new_owner_id: string, amount: bigint, memo?: string): void {
  nep141("ft_transfer", { old_owner_id, new_owner_id, amount: amount.toString(), memo });
}

export function conversation(
  event: "conversation_started" | "conversation_refunded" | "conversation_reclaimed",
  data: Record<string, unknown>,
) {
  emit("ai_conversation", event, data);
}
