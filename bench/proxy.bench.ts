// `npm run bench:proxy`: the proxy's added latency and throughput against the same mock upstream,
// measured in one run: direct to the mock vs through the proxy (auth, ledger reserve/settle in
// SQLite, SSE relay). The proxy runs as its own process (`npm run proxy`, as deployed); the client
// and the mock share this process. Targets: added TTFB p50 <= 1 ms, p99 <= 5 ms, throughput >= 80 %
// of direct. BENCH_IN_PROCESS=1 runs the proxy in this process instead (one event loop for all three).
//
// Honesty: both paths use the same client, the same keep-alive agent, the same mock and the same
// streaming request (the direct one asks for the usage chunk the proxy injects, so the mock does the
// same work). TTFB is the time to the first chunk carrying content text. Both paths are warmed up.
// Each concurrency level runs BENCH_ROUNDS rounds, direct and proxy alternating (ABBA order), and
// reports the median round, so load from other work on a shared machine hits both paths alike.
// CPU µs/request (this process = client + mock; proxy = its own process) shows where the cores go.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryChainClient } from "../proxy/src/chain/memory.js";
import { parseConfig } from "../proxy/src/config.js";
import { createLogger } from "../proxy/src/logger.js";
import { startProxy } from "../proxy/src/server.js";
import { startMockUpstream } from "../test/helpers/mock-upstream.js";

const synchronous = (process.env["BENCH_SQLITE_SYNCHRONOUS"] ?? "normal") as "full" | "normal";
const requestsAt1 = Number(process.env["BENCH_REQUESTS_C1"] ?? 1000);
const requestsAt64 = Number(process.env["BENCH_REQUESTS_C64"] ?? 3000);
const rounds = Math.max(1, Number(process.env["BENCH_ROUNDS"] ?? 5));

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface Sample {
  ttfbMs: number;
}

/** The first content text of a chat.completion.chunk stream (the role chunk before it is empty). */
const CONTENT = /"content":"[^"]/;

/** One streaming request; resolves with its time to the first content chunk, after reading it all. */
function streamOnce(url: URL, body: string, auth?: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ttfb = -1;
    let seen = "";
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
        res.setEncoding("utf8");
        res.on("data", (text: string) => {
          if (ttfb >= 0) return;
          seen += text;
          if (CONTENT.test(seen)) ttfb = performance.now() - started;
        });
        res.on("end", () =>
          ttfb < 0 ? reject(new Error("stream without content")) : resolve({ ttfbMs: ttfb }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** user+system CPU seconds of a process, from /proc (Linux); undefined elsewhere. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

interface Result {
  p50: number;
  p99: number;
  rps: number;
  /** CPU µs per request in this process (client + mock) and in the proxy (or bare hop) process. */
  cpuHere: number;
  cpuProxy: number | undefined;
}

async function run(
  concurrency: number,
  total: number,
  fire: () => Promise<Sample>,
  pid = proxyPid,
): Promise<Result> {
  const samples: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const proxyCpu0 = cpuSecondsOf(pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) samples.push((await fire()).ttfbMs);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const proxyCpu1 = cpuSecondsOf(pid);
  samples.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!;
  return {
    p50: pct(50),
    p99: pct(99),
    rps: samples.length / seconds,
    cpuHere: (cpu.user + cpu.system) / samples.length,
    cpuProxy:
      proxyCpu0 === undefined || proxyCpu1 === undefined
        ? undefined
        : ((proxyCpu1 - proxyCpu0) * 1e6) / samples.length,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

let proxyPid: number | undefined;

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
    [
      // BENCH_PROXY_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the proxy.
      ...(process.env["BENCH_PROXY_NODE_ARGS"]?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      "proxy/src/main.ts",
      "--config",
      configPath,
      "--port",
      "0",
    ],
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
  proxyPid = child.pid;
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
// Direct asks for the usage chunk the proxy injects upstream: the mock does the same work either way.
const directBody = JSON.stringify({ ...JSON.parse(body), stream_options: { include_usage: true } });
const direct = () => streamOnce(directUrl, directBody);
const viaProxy = () => streamOnce(proxyUrl, body, secret);

// Reference, not a target: the cheapest possible extra hop on this machine. A bare node:http
// forwarder in its own process (keep-alive agent, bytes piped both ways, no auth, no ledger, no SSE
// parsing) against the same mock. What it costs is the floor any Node proxy pays for the hop itself.
// BENCH_BARE_HOP=0 skips it.
const bareHopSource = `
const http = require("node:http");
const target = new URL(process.env.MOCK_URL + "/chat/completions");
const agent = new http.Agent({ keepAlive: true, noDelay: true });
const server = http.createServer((req, res) => {
  const up = http.request(target, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": req.headers["content-length"] } }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  req.pipe(up);
});
server.listen(0, "127.0.0.1", () => console.log("bare hop " + server.address().port));
`;
let bareHop: { url: URL; pid: number | undefined; stop: () => Promise<void> } | undefined;
if (process.env["BENCH_BARE_HOP"] !== "0") {
  const child = spawn(process.execPath, ["-e", bareHopSource], {
    env: { ...process.env, MOCK_URL: mock.url },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve) => {
    child.stdout!.on("data", (d) => {
      const m = /bare hop (\d+)/.exec(String(d));
      if (m) resolve(m[1]!);
    });
  });
  bareHop = {
    url: new URL(`http://127.0.0.1:${port}/`),
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}
const viaBareHop = () => streamOnce(bareHop!.url, directBody);

// Warm up both paths (JIT, sockets, first-sight chain load).
for (let i = 0; i < 2; i++) {
  await run(8, 300, direct);
  await run(8, 300, viaProxy);
  if (bareHop) await run(8, 300, viaBareHop, bareHop.pid);
}

const fmt = (n: number) => n.toFixed(3).padStart(8);
const us = (n: number | undefined) => (n === undefined ? "     n/a" : n.toFixed(0).padStart(8));
const load0 = loadavg();
console.log(
  `proxy bench (sqlite synchronous=${synchronous}; proxy ${inProcess ? "in this process" : "in its own process"}; client and mock in this process)`,
);
console.log(
  `environment: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}, load average ${load0.map((l) => l.toFixed(2)).join(" ")} at start.`,
);
console.log(
  "caveat: client, mock and proxy share these cores (and any other work on the machine); the proxy path has a full extra HTTP hop (two more sockets, parse and serialize) that direct does not. Medians of interleaved rounds.",
);
console.log("streams | path   | ttfb p50 ms | ttfb p99 ms |   req/s | cpu µs/req here | cpu µs/req proxy");
const verdicts: string[] = [];
for (const [concurrency, total] of [
  [1, requestsAt1],
  [64, requestsAt64],
] as const) {
  const perRound = Math.max(concurrency, Math.ceil(total / rounds));
  const ds: Result[] = [];
  const ps: Result[] = [];
  const bs: Result[] = [];
  for (let r = 0; r < rounds; r++) {
    if (bareHop) bs.push(await run(concurrency, perRound, viaBareHop, bareHop.pid));
    // ABBA: neither path always runs first (or last) in a round.
    if (r % 2 === 0) {
      ds.push(await run(concurrency, perRound, direct));
      ps.push(await run(concurrency, perRound, viaProxy));
    } else {
      ps.push(await run(concurrency, perRound, viaProxy));
      ds.push(await run(concurrency, perRound, direct));
    }
  }
  const summary = (rs: Result[]) => ({
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    rps: median(rs.map((r) => r.rps)),
    cpuHere: median(rs.map((r) => r.cpuHere)),
    cpuProxy: rs.some((r) => r.cpuProxy === undefined)
      ? undefined
      : median(rs.map((r) => r.cpuProxy as number)),
  });
  const d = summary(ds);
  const p = summary(ps);
  // Per round, then the median: both paths of one round saw the same machine load.
  const addedP50 = median(ds.map((x, i) => ps[i]!.p50 - x.p50));
  const addedP99 = median(ds.map((x, i) => ps[i]!.p99 - x.p99));
  const ratios = ds.map((x, i) => ps[i]!.rps / x.rps);
  const ratio = median(ratios);
  const row = (name: string, r: ReturnType<typeof summary>, proxyCpu: boolean) =>
    `${String(concurrency).padStart(7)} | ${name} | ${fmt(r.p50)}    | ${fmt(r.p99)}    | ${r.rps.toFixed(0).padStart(7)} | ${us(r.cpuHere)}        | ${proxyCpu ? us(r.cpuProxy) : "       -"}`;
  console.log(row("direct", d, false));
  console.log(row("proxy ", p, true));
  if (bareHop) {
    const b = summary(bs);
    const bareRatio = median(ds.map((x, i) => bs[i]!.rps / x.rps));
    console.log(
      `${row("bare  ", b, true)}   <- reference: bare forwarder, ${(bareRatio * 100).toFixed(1)} % of direct, added p50 ${median(ds.map((x, i) => bs[i]!.p50 - x.p50)).toFixed(3)} ms`,
    );
  }
  console.log(
    `        | added  | ${fmt(addedP50)}    | ${fmt(addedP99)}    | ratio ${(ratio * 100).toFixed(1)} % of direct (rounds: ${ratios.map((x) => (x * 100).toFixed(0)).join(" ")} %)`,
  );
  verdicts.push(
    `c=${concurrency}: p50 added ${addedP50.toFixed(3)} ms (target <= 1) ${addedP50 <= 1 ? "OK" : "MISS"}; ` +
      `p99 added ${addedP99.toFixed(3)} ms (target <= 5) ${addedP99 <= 5 ? "OK" : "MISS"}; ` +
      `throughput ${(ratio * 100).toFixed(1)} % (target >= 80 %) ${ratio >= 0.8 ? "OK" : "MISS"}`,
  );
}
console.log(verdicts.join("\n"));
console.log(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);

await stopProxy();
await bareHop?.stop();
await mock.close();
agent.destroy();
rmSync(dir, { recursive: true, force: true });
