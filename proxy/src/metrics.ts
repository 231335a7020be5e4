// Prometheus metrics, one registry per proxy instance (several proxies can live in one test process).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export interface ProxyMetrics {
  registry: Registry;
  requests: Counter<"route" | "status">;
  latency: Histogram<"route">;
  tokens: Counter<"model" | "kind">;
  upstreamErrors: Counter<"provider" | "reason">;
  activeStreams: Gauge;
  billed: Counter<"model">;
  overage: Counter<"model">;
  overageEvents: Counter<"model">;
}

export function createMetrics(defaults = false): ProxyMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: "aiproxy_" });
  return {
    registry,
    requests: new Counter({
      name: "aiproxy_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["route", "status"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "aiproxy_request_duration_seconds",
      help: "Time to response headers by route",
      labelNames: ["route"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    tokens: new Counter({
      name: "aiproxy_tokens_total",
      help: "Tokens reported by upstream usage",
      labelNames: ["model", "kind"],
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: "aiproxy_upstream_errors_total",
      help: "Failed upstream attempts by provider and reason",
      labelNames: ["provider", "reason"],
      registers: [registry],
    }),
    activeStreams: new Gauge({
      name: "aiproxy_active_streams",
      help: "Streams being relayed now",
      registers: [registry],
    }),
    billed: new Counter({
      name: "aiproxy_billed_token_units_total",
      help: "Token units charged (as a float; the ledger itself is exact)",
      labelNames: ["model"],
      registers: [registry],
    }),
    overage: new Counter({
      name: "aiproxy_overage_token_units_total",
      help: "Token units an upstream's usage cost beyond the request's reservation (the reservation bound failed)",
      labelNames: ["model"],
      registers: [registry],
    }),
    overageEvents: new Counter({
      name: "aiproxy_overage_requests_total",
      help: "Requests whose upstream usage cost more than their reservation",
      labelNames: ["model"],
      registers: [registry],
    }),
  };
}
