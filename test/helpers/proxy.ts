// Starts a proxy for a test: mock upstream behind an openai-compatible provider, in-memory chain,
// in-memory (or file) SQLite store, logs captured so tests can search them for secrets.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { Wallet } from "ethers";
import OpenAI from "openai";
import type { CreateProxyOptions } from "#internal/proxy/app";
import { MemoryChainClient } from "#internal/proxy/chain/memory";
import { type ProxyConfigInput, parseConfig } from "#internal/proxy/config";
import { createLogger } from "#internal/proxy/logger";
import { type RunningProxy, startProxy } from "#internal/proxy/server";

export const UPSTREAM_KEY = "sk-upstream-test-key-0123456789abcdef";

export interface TestProxy {
  proxy: RunningProxy;
  chain: MemoryChainClient;
  signer: Wallet;
  logs: string[];
  /** Opens an escrow on the fake chain and returns its secret. */
  open(amount: bigint, receiverId?: string, lifetimeNs?: bigint): string;
  client(secret: string, options?: { maxRetries?: number }): OpenAI;
  fetch(path: string, init?: RequestInit & { secret?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export function newSecret(): string {
  return randomBytes(32).toString("hex");
}

/** Prices used by the tests: 1000 units per 1M input tokens, 2000 per 1M output... scaled up so small usages cost something. */
export const testModel = {
  id: "mock-model",
  owned_by: "mock",
  context_window: 16384,
  input_price: "1000000", // 1 unit per input token
  output_price: "2000000", // 2 units per output token
};

export async function startTestProxy(
  upstreamUrl: string,
  overrides: ProxyConfigInput = {},
  extraEnv: Record<string, string> = {},
  proxyOptions: Pick<CreateProxyOptions, "settlement"> & { chain?: MemoryChainClient } = {},
): Promise<TestProxy> {
  const signer = Wallet.createRandom();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const chain = proxyOptions.chain ?? new MemoryChainClient();
  const config = parseConfig({
    port: 0,
    log_level: "debug",
    store: { path: ":memory:" },
    chain: { contract_id: "token.test.near" },
    retry: {
      max_retries: 2,
      initial_delay_ms: 10,
      max_delay_ms: 100,
      // The product's defaults: a mock that answers at once must never time out on a loaded machine;
      // tests of timeouts set their own.
      timeout_ms: 30_000,
      max_total_timeout_ms: 60_000,
    },
    providers: [
      { name: "mock", type: "openai-compatible", base_url: upstreamUrl, api_key_env: "MOCK_UPSTREAM_KEY" },
      { name: "local", type: "local" },
    ],
    models: [
      { ...testModel, providers: ["mock"] },
      { id: "demo-local", input_price: "1000000", output_price: "2000000", providers: ["local"] },
    ],
    ...overrides,
  });
  const env = {
    ...process.env,
    MOCK_UPSTREAM_KEY: UPSTREAM_KEY,
    AIPROXY_REFUND_SIGNER_KEY: signer.privateKey,
    ...extraEnv,
  };
  const proxy = await startProxy(config, {
    chain,
    env,
    logger: createLogger("debug", sink),
    ...proxyOptions,
  });
  return {
    proxy,
    chain,
    signer: new Wallet(signer.privateKey),
    logs,
    open: (amount, receiverId, lifetimeNs) => {
      const secret = newSecret();
      chain.open(secret, amount, receiverId, lifetimeNs);
      return secret;
    },
    client: (secret, options = {}) =>
      new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: secret, maxRetries: options.maxRetries ?? 0 }),
    fetch: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.secret) headers.set("authorization", `Bearer ${init.secret}`);
      if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
      return fetch(`${proxy.url}${path}`, { ...init, headers });
    },
    stop: () => proxy.stop(2000),
  };
}

export async function balance(tp: TestProxy, secret: string) {
  const res = await tp.fetch("/v1/conversations/current", { secret });
  return (await res.json()) as {
    deposit: string;
    reserved: string;
    spent: string;
    remaining: string;
    status: string;
  };
}
