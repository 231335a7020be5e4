// A model's routes (its providers in fallback order, each with its upstream name and retry budget),
// and the client-facing error when every route failed.
import type { ProxyContext } from "../context.js";
import { ApiError, errors } from "../errors.js";
import type { Route, RoutingError } from "../routing/retry.js";

export function routesFor(ctx: ProxyContext, modelId: string): Route[] {
  const model = ctx.models.get(modelId)!;
  return model.providers.map((name) => {
    const provider = ctx.config.providers.find((p) => p.name === name)!;
    return {
      provider: name,
      upstream: ctx.upstreams.get(name)!,
      upstreamModel: provider.model_aliases[modelId] ?? modelId,
      retry: { ...ctx.config.retry, ...provider.retry },
    };
  });
}

export function routingToApiError(e: RoutingError): ApiError {
  switch (e.status) {
    case 400:
      return errors.badRequest(e.message, null, e.code);
    // The upstream cannot be paid (0G: the operator's ledger is empty): the adapter's own code says so.
    case 402:
      return new ApiError(402, e.message, e.code);
    case 429:
      return errors.rateLimited(e.retryAfterSeconds);
    case 503:
      return errors.upstreamFailed(e.message, 503, e.code);
    case 504:
      return errors.upstreamFailed(e.message, 504, e.code);
    default:
      return errors.upstreamFailed(e.message, 502, e.code);
  }
}
