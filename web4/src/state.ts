// The app's state: one object that actions change and views read. No framework: views re-render
// from it (views/*.ts), actions (actions/*.ts) do the I/O and then ask for a render.
import { formatAmount, NEAR_DECIMALS } from "./amount.js";
import type { AppConfig } from "./config.js";
import type { ConversationView, FtMetadata, TokenContract } from "./contract.js";
import type { UiMessage } from "./history.js";
import type { NearRpc } from "./near/rpc.js";
import type { ConversationUsage, ModelInfo, ProxyClient } from "./proxy.js";
import { type KeyValue, type StoredConversation, upsertConversation } from "./secret.js";
import type { WalletWithSignIn } from "./wallet/index.js";

export const state = {
  config: null as AppConfig | null,
  rpc: null as NearRpc | null,
  proxy: null as ProxyClient | null,
  token: null as TokenContract | null,
  wallet: null as WalletWithSignIn | null,
  meta: { symbol: "TOKEN", decimals: 0 } as Pick<FtMetadata, "symbol" | "decimals">,
  models: [] as ModelInfo[],
  balance: null as bigint | null,
  /** This account's conversations whose secret this browser holds, newest first. */
  convs: [] as StoredConversation[],
  /** What the chain says about each conversation, by id (joined with `convs` for the list). */
  chain: new Map<string, ConversationView>(),
  currentId: null as string | null,
  messages: [] as UiMessage[],
  /** The proxy's meter per conversation (the current one is polled; the others read once). */
  usage: new Map<string, ConversationUsage>(),
  /** The reply streaming now, if any (one at a time). */
  streaming: null as { id: string; controller: AbortController } | null,
  /** Show the start form instead of a conversation. */
  composing: false,
  pollTimer: 0,
};

export const storage: KeyValue = localStorage;

export function account(): string | null {
  return state.wallet?.accountId() ?? null;
}

export function current(): StoredConversation | null {
  return state.convs.find((c) => c.conversation_id === state.currentId) ?? null;
}

/** Saves one conversation's record (secret, state, refund) for this contract and account. */
export function persistConversation(conv: StoredConversation): void {
  const acct = account();
  if (!state.config || !acct) return;
  upsertConversation(storage, state.config.contract_id, acct, conv);
  // The objects in state stay the ones actions hold on to.
  if (!state.convs.includes(conv)) {
    state.convs = [conv, ...state.convs.filter((c) => c.conversation_id !== conv.conversation_id)];
    state.convs.sort((a, b) => b.created_at - a.created_at);
  }
}

/** Amount with all of the token's decimals and its symbol: "0.000137 AIC" (exact, trailing zeros trimmed). */
export const tokens = (raw: bigint | string) =>
  `${formatAmount(raw, state.meta.decimals)} ${state.meta.symbol}`;
export const nearText = (raw: bigint | string) => `${formatAmount(raw, NEAR_DECIMALS, 4)} NEAR`;
