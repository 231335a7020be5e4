// What to reserve before forwarding: priced prompt bound + max output tokens x n choices (+ any
// predicted output). The cheap bound first: UTF-8 bytes bound any byte-level BPE, cost one
// Buffer.byteLength per string and, with the worst-case image size, never look inside a part. Only
// when that reservation does not fit the conversation's free balance (its last requests) is the
// prompt counted exactly: the model's tokenizer, data: URL image sizes. Both are upper bounds of
// what the upstream bills; the exact one is just closer.
import type { ModelConfig } from "../config.js";
import { errors } from "../errors.js";
import type { ConversationState } from "../store/types.js";
import { available } from "../store/types.js";
import {
  extraOutputTokens,
  OPENAI_OVERHEAD,
  type PromptCosts,
  promptTokensBound,
  TEMPLATE_OVERHEAD,
} from "./bound.js";
import { DEFAULT_AUDIO, GPT_4O_IMAGES } from "./media.js";
import { affordableOutputTokens, costOf, type Price } from "./prices.js";
import { bytesCounter, type TokenCounter, tokenCounter, tokenizerForModel } from "./tokens.js";

export interface Quote {
  /** The prompt bound reserved for (bytes or exact tokens). */
  promptTokens: number;
  /** Output tokens reserved per choice. */
  maxOutputTokens: number;
  amount: bigint;
  /** Set when the client sent no limit: the proxy forwards this as max_tokens so upstream stays inside it. */
  injectedMaxTokens?: number;
  /** The tokenizer counted the prompt (the byte bound did not fit the free balance). */
  exact: boolean;
}

export interface ModelMetering {
  costs: PromptCosts;
  /** The model's encoding (the byte counter when it has none, or it is not loaded). */
  counter: TokenCounter;
}

const resolved = new WeakMap<ModelConfig, ModelMetering>();

/** A model's metering settings with their defaults, resolved once per model config. */
export function meteringOf(model: ModelConfig): ModelMetering {
  let m = resolved.get(model);
  if (!m) {
    const counter = tokenCounter(model.tokenizer ?? tokenizerForModel(model.id));
    const base = counter.name === "bytes" ? TEMPLATE_OVERHEAD : OPENAI_OVERHEAD;
    const images = model.images ?? GPT_4O_IMAGES;
    m = {
      counter,
      costs: {
        overhead: { ...base, ...stripUndefined(model.prompt_overhead ?? {}) },
        images,
        audio: model.audio ?? DEFAULT_AUDIO,
        ...(model.file_tokens === undefined ? {} : { fileTokens: model.file_tokens }),
      },
    };
    resolved.set(model, m);
  }
  return m;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface QuoteOptions {
  defaultMaxTokens: number;
  /**
   * Skip the fit check against the free balance (a job's worker billing the reservation its submit
   * made): the cheap bound, never a 402.
   */
  reserved?: boolean;
}

export function quote(
  body: Record<string, unknown>,
  model: ModelConfig,
  price: Price,
  state: ConversationState,
  options: QuoteOptions,
): Quote {
  const metering = meteringOf(model);
  const free = available(state);
  const cheap = quoteWith(body, model, price, free, options, metering, bytesCounter);
  if (options.reserved || (cheap && fits(cheap, free, body)))
    return cheap ?? mustFit(body, price, free, metering);
  const exact = quoteWith(body, model, price, free, options, metering, exactCounter(metering));
  if (exact && exact.amount <= free) return exact;
  throw errors.insufficientQuota(
    exact?.amount ?? leastCost(body, price, metering, exactCounter(metering)),
    free,
  );
}

/** The exact counter: the model's encoding, or bytes with exact image sizes for `bytes` models. */
function exactCounter(metering: ModelMetering): TokenCounter {
  return metering.counter.exact ? metering.counter : { ...bytesCounter, exact: true };
}

/** Fits when it is affordable and (without a client limit) the whole default cap was granted. */
function fits(q: Quote & { capTokens: number }, free: bigint, body: Record<string, unknown>): boolean {
  if (q.amount > free) return false;
  return (
    requestedMax(body) !== undefined || q.injectedMaxTokens === undefined || q.maxOutputTokens >= q.capTokens
  );
}

function requestedMax(body: Record<string, unknown>): number | undefined {
  const a = body["max_completion_tokens"];
  const b = body["max_tokens"];
  // Both given: an upstream may honour either, so the larger one bounds the bill.
  const values = [a, b].filter((v): v is number => typeof v === "number");
  return values.length ? Math.max(...values) : undefined;
}

/** The least a request can be reserved at: its prompt bound and one output token. */
function leastCost(
  body: Record<string, unknown>,
  price: Price,
  metering: ModelMetering,
  counter: TokenCounter,
): bigint {
  return costOf(price, promptTokensBound(body, metering.costs, counter), 1);
}

function mustFit(body: Record<string, unknown>, price: Price, free: bigint, metering: ModelMetering): never {
  throw errors.insufficientQuota(leastCost(body, price, metering, bytesCounter), free);
}

/** The quote for one prompt counter; undefined when not even one output token is affordable. */
function quoteWith(
  body: Record<string, unknown>,
  model: ModelConfig,
  price: Price,
  free: bigint,
  options: QuoteOptions,
  metering: ModelMetering,
  counter: TokenCounter,
): (Quote & { capTokens: number }) | undefined {
  const promptTokens = promptTokensBound(body, metering.costs, counter);
  const extra = extraOutputTokens(body, counter);
  const choices = typeof body["n"] === "number" ? (body["n"] as number) : 1;
  const exact = counter.exact;
  const requested = requestedMax(body);
  if (requested !== undefined) {
    return {
      promptTokens,
      maxOutputTokens: requested,
      amount: costOf(price, promptTokens, requested * choices + extra),
      exact,
      capTokens: requested,
    };
  }
  // No client limit: reserve the default cap, or less when the conversation cannot pay for it, so
  // the last units of a conversation stay usable.
  const cap = model.default_max_tokens ?? options.defaultMaxTokens;
  const budget = options.reserved ? BigInt(Number.MAX_SAFE_INTEGER) : free;
  const affordable = affordableOutputTokens(price, promptTokens, budget) - BigInt(extra);
  const perChoice = affordable > 0n ? affordable / BigInt(choices) : 0n;
  const maxOutput = Number(perChoice < BigInt(cap) ? perChoice : BigInt(cap));
  if (maxOutput < 1) return undefined;
  return {
    promptTokens,
    maxOutputTokens: maxOutput,
    amount: costOf(price, promptTokens, maxOutput * choices + extra),
    injectedMaxTokens: maxOutput,
    exact,
    capTokens: cap,
  };
}
