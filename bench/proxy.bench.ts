// `npm run bench:proxy`: the proxy's added latency and throughput against the same mock upstream,
// measured in one run: direct to the mock vs through the proxy (auth, ledger reserve/settle in
// SQLite, SSE relay). The proxy runs as its own process (`npm run proxy`, as deployed); the client
// and the mock share this process. Targets: added TTFB p50 <= 1 ms, p99 <= 5 ms, throughput >= 80 %
// of direct. BENCH_IN_PROCESS=1 runs the proxy in this process instead (one event loop for all three).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryChainClient } from "../proxy/src/chain/memory.js";
import { parseConfig } from "../proxy/src/config.js";
import { createLogger } from "../proxy/src/logger.js";
import { startProxy } from "../proxy/src/server.js";
import { startMockUpstream } from "../test/helpers/mock-upstream.js";

const synchronous = (process.env["BENCH_SQLITE_SYNCHRONOUS"] ?? "normal") as "full" | "normal";
const requestsAt1 = Number(process.env["BENCH_REQUESTS_C1"] ?? 400);
const requestsAt64 = Number(process.env["BENCH_REQUESTS_C64"] ?? 3000);

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface Sample {
  ttfbMs: number;
}

/** One streaming request; resolves with time to first body byte after reading the whole stream. */
function streamOnce(url: URL, body: string, auth?: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ttfb = -1;
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        },
      },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        res.on("data", () => {
          if (ttfb < 0) ttfb = performance.now() - started;
        });
        res.on("end", () => resolve({ ttfbMs: ttfb }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function run(concurrency: number, total: number, fire: () => Promise<Sample>) {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) samples.push((await fire()).ttfbMs);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  samples.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!;
  return { p50: pct(50), p99: pct(99), rps: samples.length / seconds };
}

const mock = await startMockUpstream({
  reply: "The quick brown fox jumps over the lazy dog again and again",
  promptTokens: 20,
});
const dir = mkdtempSync(join(tmpdir(), "aiproxy-bench-"));
const secret = "bench-secret-0123456789abcdef";
const storePath = join(dir, "ledger.sqlite");
const inProcess = process.env["BENCH_IN_PROCESS"] === "1";
let proxyUrl0: string;
let stopProxy: () => Promise<void>;
if (inProcess) {
  const chain = new MemoryChainClient();
  chain.open(secret, 10n ** 30n);
  const config = parseConfig({
    port: 0,
    log_level: "warn",
    store: { path: storePath, synchronous },
    providers: [{ name: "mock", type: "openai-compatible", base_url: mock.url }],
    models: [{ id: "mock-model", input_price: "1000", output_price: "2000", providers: ["mock"] }],
  });
  const proxy = await startProxy(config, { chain, logger: createLogger("warn") });
  proxyUrl0 = proxy.url;
  stopProxy = () => proxy.stop(2000);
} else {
  const configPath = join(dir, "proxy.yaml");
  writeFileSync(
    configPath,
    [
      "log_level: warn",
      "chain:",
      "  type: memory",
      "  conversations:",
      `    - { secret: "${secret}", amount: "${10n ** 30n}" }`,
      `store: { path: "${storePath}", synchronous: ${synchronous} }`,
      `providers: [{ name: mock, type: openai-compatible, base_url: "${mock.url}" }]`,
      'models: [{ id: mock-model, input_price: "1000", output_price: "2000", providers: [mock] }]',
    ].join("\n"),
  );
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "proxy/src/main.ts", "--config", configPath, "--port", "0"],
    {
      cwd: join(import.meta.dirname, ".."),
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  proxyUrl0 = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += String(d);
      const m = /"msg":"aiproxy ready","url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`proxy exited (${code}): ${out}`)));
  });
  stopProxy = async () => {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  };
}

const body = JSON.stringify({
  model: "mock-model",
  messages: [{ role: "user", content: "Say something about foxes." }],
  stream: true,
  max_tokens: 64,
});
const directUrl = new URL(`${mock.url}/chat/completions`);
const proxyUrl = new URL(`${proxyUrl0}/v1/chat/completions`);
const direct = () =>
  streamOnce(directUrl, JSON.stringify({ ...JSON.parse(body), stream_options: { include_usage: true } }));
const viaProxy = () => streamOnce(proxyUrl, body, secret);

// Warm up both paths (JIT, sockets, first-sight chain load).
await run(8, 200, direct);
await run(8, 200, viaProxy);

const fmt = (n: number) => n.toFixed(3).padStart(8);
console.log(
  `proxy bench (sqlite synchronous=${synchronous}; proxy ${inProcess ? "in this process" : "in its own process"}; client and mock in this process)`,
);
console.log("streams | path   | ttfb p50 ms | ttfb p99 ms |   req/s");
const verdicts: string[] = [];
for (const [concurrency, total] of [
  [1, requestsAt1],
  [64, requestsAt64],
] as const) {
  const d = await run(concurrency, total, direct);
  const p = await run(concurrency, total, viaProxy);
  console.log(
    `${String(concurrency).padStart(7)} | direct | ${fmt(d.p50)}    | ${fmt(d.p99)}    | ${d.rps.toFixed(0).padStart(7)}`,
  );
  console.log(
    `${String(concurrency).padStart(7)} | proxy  | ${fmt(p.p50)}    | ${fmt(p.p99)}    | ${p.rps.toFixed(0).padStart(7)}`,
  );
  const addedP50 = p.p50 - d.p50;
  const addedP99 = p.p99 - d.p99;
  const ratio = p.rps / d.rps;
  console.log(
    `        | added  | ${fmt(addedP50)}    | ${fmt(addedP99)}    | ratio ${(ratio * 100).toFixed(1)} % of direct`,
  );
  verdicts.push(
    `c=${concurrency}: p50 added ${addedP50.toFixed(3)} ms (target <= 1) ${addedP50 <= 1 ? "OK" : "MISS"}; ` +
      `p99 added ${addedP99.toFixed(3)} ms (target <= 5) ${addedP99 <= 5 ? "OK" : "MISS"}; ` +
      `throughput ${(ratio * 100).toFixed(1)} % (target >= 80 %) ${ratio >= 0.8 ? "OK" : "MISS"}`,
  );
}
console.log(verdicts.join("\n"));

await stopProxy();
await mock.close();
agent.destroy();
rmSync(dir, { recursive: true, force: true });
