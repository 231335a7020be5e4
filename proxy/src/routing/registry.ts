// Builds one Upstream per configured provider. Adapters live in ../upstreams/<type>/.
import type { ProviderConfig } from "../config.js";
import { LocalUpstream } from "../upstreams/local/index.js";
import { OpenAiCompatibleUpstream } from "../upstreams/openai-compatible/index.js";
import type { Upstream } from "../upstreams/types.js";

export type UpstreamFactory = (
  config: ProviderConfig,
  env: NodeJS.ProcessEnv,
) => Upstream | Promise<Upstream>;

/**
 * The `0g` adapter is built in ../upstreams/0g/ against the same interface. It is loaded lazily
 * (its SDK is heavy) and may export `create0gUpstream`, `createUpstream` or a default factory,
 * each called as (providerConfig, env).
 */
async function load0g(config: ProviderConfig, env: NodeJS.ProcessEnv): Promise<Upstream> {
  const path = "../upstreams/0g/index.js";
  const mod = (await import(path)) as Record<string, unknown>;
  const factory = (mod["create0gUpstream"] ?? mod["createUpstream"] ?? mod["default"]) as
    | UpstreamFactory
    | undefined;
  if (typeof factory !== "function") throw new Error("upstreams/0g/index.ts exports no upstream factory");
  return factory(config, env);
}

export const defaultFactories: Record<ProviderConfig["type"], UpstreamFactory> = {
  local: (config) => new LocalUpstream(config),
  "openai-compatible": (config, env) => new OpenAiCompatibleUpstream({ config, env }),
  "0g": load0g,
};

export async function buildUpstreams(
  providers: ProviderConfig[],
  env: NodeJS.ProcessEnv,
  overrides: Record<string, Upstream> = {},
): Promise<Map<string, Upstream>> {
  const out = new Map<string, Upstream>();
  for (const provider of providers) {
    out.set(
      provider.name,
      overrides[provider.name] ?? (await defaultFactories[provider.type](provider, env)),
    );
  }
  return out;
}
