// What one admitted request is billed by: its reservation, its price, its prompt estimate.

import { costOf } from "../metering/prices.js";
import type { Usage } from "../upstreams/types.js";
import type { Prepared } from "./admission.js";

export interface Billing {
  reservationId: string;
  conversationId: string;
  model: string;
  reservedAmount: bigint;
  promptTokens: number;
  /** Embeddings: usage reports input tokens only. */
  inputOnly: boolean;
  cost(usage: Pick<Usage, "prompt_tokens" | "completion_tokens">): bigint;
  /** The no-usage estimate: the prompt estimate plus this many output tokens. */
  estimateCost(outputTokens: number): bigint;
}

export function billingFor(
  prepared: Prepared,
  ids: { reservationId: string; conversationId: string },
): Billing {
  const { price, quote, model } = prepared;
  return {
    ...ids,
    model: model.id,
    reservedAmount: quote.amount,
    promptTokens: quote.promptTokens,
    inputOnly: quote.maxOutputTokens === 0,
    cost: (usage) => costOf(price, usage.prompt_tokens, usage.completion_tokens),
    estimateCost: (outputTokens) => costOf(price, quote.promptTokens, outputTokens),
  };
}
