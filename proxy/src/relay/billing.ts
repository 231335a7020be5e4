// What one admitted request is billed by: its reservation, its price, its prompt bound.
import { promptTokensBound } from "../metering/bound.js";
import { type ProducedOutput, producedTokens } from "../metering/output.js";
import { costOf } from "../metering/prices.js";
import { meteringOf } from "../metering/reservation.js";
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
  /** The no-usage estimate: the prompt (as exactly as the model can count it) plus this many output tokens. */
  estimateCost(outputTokens: number): bigint;
  /** Output tokens for what a stream without usage produced (metering/output.ts). */
  countOutput(produced: ProducedOutput): number;
}

export function billingFor(
  prepared: Prepared,
  ids: { reservationId: string; conversationId: string; reservedAmount?: bigint },
): Billing {
  const { price, quote, model } = prepared;
  const metering = meteringOf(model);
  // No usage is rare: then the prompt is counted with the model's tokenizer, not the cheap bound.
  const promptTokens = () =>
    quote.exact || !prepared.meter || quote.maxOutputTokens === 0
      ? quote.promptTokens
      : promptTokensBound(prepared.meter, metering.costs, metering.counter);
  return {
    reservationId: ids.reservationId,
    conversationId: ids.conversationId,
    model: model.id,
    reservedAmount: ids.reservedAmount ?? quote.amount,
    promptTokens: quote.promptTokens,
    inputOnly: quote.maxOutputTokens === 0,
    cost: (usage) => costOf(price, usage.prompt_tokens, usage.completion_tokens),
    estimateCost: (outputTokens) => costOf(price, promptTokens(), outputTokens),
    countOutput: (produced) => producedTokens(produced, metering.counter),
  };
}
