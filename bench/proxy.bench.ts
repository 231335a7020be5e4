// `npm run bench:proxy`: the proxy's added latency and throughput against the same mock upstream,
// measured in one run: direct to the mock vs through the proxy (auth, ledger reserve/settle in
// SQLite, SSE relay). The proxy runs as its own process (`npm run proxy`, as deployed); the client
// and the mocks share this process. Targets: added TTFB p50 <= 1 ms, p99 <= 5 ms, throughput >= 80 %
// of direct. BENCH_IN_PROCESS=1 runs the proxy in this process instead (one event loop for all three).
//
// Two upstream profiles, each its own mock and model, measured one after the other:
// - instant (model mock-model): the mock answers at once, so on a 2-core box where client, mock and
//   proxy share the cores this is a CPU stress test: whatever the proxy spends is taken from the
//   others. BENCH_REQUESTS_C1 (1000), BENCH_REQUESTS_C64 (3000).
// - paced (model mock-paced): the mock behaves like a fast real LLM, first content chunk after
//   BENCH_PACED_TTFT_MS (20), then one chunk every BENCH_PACED_CHUNK_MS (2). Closer to production:
//   streams spend most of their time waiting on the model, so the hop's CPU cost mostly overlaps it.
//   BENCH_PACED_REQUESTS_C1 (200), BENCH_PACED_REQUESTS_C64 (10000): about 2 s per path and round.
//
// Honesty: every path uses the same client, the same keep-alive agent, the same mock and the same
// streaming request (the direct one asks for the usage chunk the proxy injects, so the mock does the
// same work). TTFB is the time to the first chunk carrying content text. All paths are warmed up.
// Each concurrency level runs BENCH_ROUNDS (5) rounds, direct and proxy alternating (ABBA order), and
// reports the median round, so load from other work on a shared machine hits every path alike.
// CPU µs/request (this process = client + mocks; the others = their own process) shows where the
// cores go.
//
// References, not targets, measured in the same rounds and the same way (own process, ratio and
// added latency against the direct run of the same round):
// - bare: a 20-line node:http forwarder, the floor any Node proxy pays for the hop itself.
//   BENCH_BARE_HOP=0 skips it.
// - portkey: @portkey-ai/gateway, a popular LLM gateway, with no auth and no ledger. It lives in
//   bench/portkey with its own package.json (it pins @hono/node-server to 1.13.8: newer ones fail
//   its streams with `TypeError: immutable`, Portkey-AI/gateway#1389; the pin must not reach the
//   proxy) and is installed there on first use. BENCH_PORTKEY=0 skips it; if it cannot be installed
//   (offline), started or streamed through, the bench says why and goes on without it. Its stream
//   reader sleeps 25 ms before passing on the first event, so its TTFB is at least that.
//
// BENCH_BASELINE_DIR=<another checkout> (e.g. a `git worktree` of the commit before a change, with
//   node_modules linked) runs that checkout's proxy as one more reference path in the same ABBA
//   rounds, with the same config, and prints this proxy's throughput as a ratio of it per round:
//   a before/after comparison under the same machine load.
// Also: BENCH_SQLITE_SYNCHRONOUS=full, BENCH_PROXY_NODE_ARGS="--cpu-prof --cpu-prof-dir=…".
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { type AddressInfo, createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryChainClient } from "#internal/proxy/chain/memory";
import { parseConfig } from "#internal/proxy/config";
import { createLogger } from "#internal/proxy/logger";
import { startProxy } from "#internal/proxy/server";
import { type MockUpstream, startMockUpstream } from "#test/helpers/mock-upstream";

const env = process.env;
const synchronous = (env["BENCH_SQLITE_SYNCHRONOUS"] ?? "normal") as "full" | "normal";
const rounds = Math.max(1, Number(env["BENCH_ROUNDS"] ?? 5));
const pacedTtftMs = Number(env["BENCH_PACED_TTFT_MS"] ?? 20);
const pacedChunkMs = Number(env["BENCH_PACED_CHUNK_MS"] ?? 2);
const root = join(import.meta.dirname, "..");
const portkeyDir = join(root, "bench", "portkey");
const portkeyGateway = join(portkeyDir, "node_modules", "@portkey-ai", "gateway");

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface Sample {
  ttfbMs: number;
}

/** The first content text of a chat.completion.chunk stream (the role chunk before it is empty). */
const CONTENT = /"content":"[^"]/;

/** Requests sent again because the server closed their reused keep-alive socket (see streamOnce). */
let resent = 0;

/** One streaming request; resolves with its time to the first content chunk, after reading it all. */
function streamOnce(url: URL, body: string, headers: Record<string, string> = {}): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answered = false;
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
          ...headers,
        },
      },
      (res) => {
        answered = true;
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
    req.on("error", (err: NodeJS.ErrnoException) => {
      // The server closed this idle keep-alive socket as we reused it: Node servers close after 5 s
      // idle and, setting `connection: keep-alive` themselves, send no Keep-Alive hint the agent
      // could honour. The request never reached the path, so it goes again, timed afresh.
      if (!answered && req.reusedSocket && err.code === "ECONNRESET") {
        resent++;
        streamOnce(url, body, headers).then(resolve, reject);
      } else reject(err);
    });
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

/** A way to send the bench request, and the process (other than this one) that pays for it. */
interface Path {
  fire: () => Promise<Sample>;
  pid: number | undefined;
}

/** A forwarder measured beside the proxy for comparison, never held to the proxy's targets. */
interface Reference extends Path {
  /** Row label in the table, also the key of the end summary. */
  row: string;
  label: string;
}

interface Result {
  p50: number;
  p99: number;
  rps: number;
  /** CPU µs per request in this process (client + mocks) and in the path's own process. */
  cpuHere: number;
  cpuProxy: number | undefined;
}

async function run(concurrency: number, total: number, path: Path): Promise<Result> {
  const samples: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const proxyCpu0 = cpuSecondsOf(path.pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) samples.push((await path.fire()).ttfbMs);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const proxyCpu1 = cpuSecondsOf(path.pid);
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

// Children are killed on any exit, so a failed run does not leave forwarders holding ports.
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

interface Spawned {
  pid: number | undefined;
  match: RegExpExecArray;
  stop: () => Promise<void>;
}

/** Starts `node args…` and resolves once its stdout matches `ready`. */
function spawnNode(
  args: string[],
  ready: RegExp,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<Spawned> {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await once(child, "exit");
  };
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      reject(new Error(`not ready after ${options.timeoutMs} ms: ${out.slice(-300)}`));
      void stop();
    }, options.timeoutMs);
    const onData = (d: Buffer) => {
      out += String(d);
      const match = ready.exec(out);
      if (!match) return;
      clearTimeout(timer);
      // Keep draining: a child blocked on a full stdout pipe would stall mid-bench.
      child.stdout!.off("data", onData).resume();
      resolve({ pid: child.pid, match, stop });
    };
    child.stdout!.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const said = out.trim() ? `: ${out.trim().slice(-300)}` : " (its stderr, if any, is above)";
      reject(new Error(`exited (${code}) before it was ready${said}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Before the mocks start: the install blocks this event loop.
let portkeySkipped: string | undefined = env["BENCH_PORTKEY"] === "0" ? "BENCH_PORTKEY=0" : undefined;
if (!portkeySkipped && !existsSync(portkeyGateway)) {
  console.log("installing @portkey-ai/gateway into bench/portkey (one time)…");
  const npm = spawnSync("npm", ["install", "--prefix", portkeyDir, "--no-audit", "--no-fund"], {
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 300_000,
  });
  if (npm.status !== 0 || !existsSync(portkeyGateway)) {
    // npm ends with a pointer to its log; the cause (e.g. "FetchError: … ENOTFOUND") comes earlier.
    const errors = (npm.stderr ?? "").split("\n").filter((l) => l.startsWith("npm error "));
    const cause = errors.find((l) => /^npm error \w*Error:/.test(l)) ?? errors[0];
    const why = npm.error?.message ?? cause?.slice("npm error ".length) ?? `exit ${npm.status}`;
    portkeySkipped = `npm install --prefix bench/portkey failed: ${why}`;
  }
}

const reply = "The quick brown fox jumps over the lazy dog again and again";
const instantMock = await startMockUpstream({ reply });
const pacedMock = await startMockUpstream({
  reply,
  firstChunkDelayMs: pacedTtftMs,
  chunkDelayMs: pacedChunkMs,
});
// Like real providers, the mocks keep idle connections open far longer than Node's 5 s default:
// with it, upstream sockets idle while the other paths run would close under the proxy and the
// forwarders, and one reused just as it closes fails a request.
for (const mock of [instantMock, pacedMock]) mock.server.keepAliveTimeout = 0;

interface Profile {
  name: string;
  about: string;
  model: string;
  mock: MockUpstream;
  levels: ReadonlyArray<readonly [concurrency: number, total: number]>;
  /** Concurrency and requests of one warm-up pass (two per path). */
  warmup: readonly [concurrency: number, total: number];
}

const profiles: Profile[] = [
  {
    name: "instant",
    about: "mock answers at once: a CPU stress test, every process competes for the same cores",
    model: "mock-model",
    mock: instantMock,
    levels: [
      [1, Number(env["BENCH_REQUESTS_C1"] ?? 1000)],
      [64, Number(env["BENCH_REQUESTS_C64"] ?? 3000)],
    ],
    warmup: [8, 300],
  },
  {
    name: "paced",
    about: `mock paced like a fast LLM: first content after ${pacedTtftMs} ms, then a chunk every ${pacedChunkMs} ms`,
    model: "mock-paced",
    mock: pacedMock,
    levels: [
      [1, Number(env["BENCH_PACED_REQUESTS_C1"] ?? 200)],
      [64, Number(env["BENCH_PACED_REQUESTS_C64"] ?? 10000)],
    ],
    // Enough to open 64 upstream sockets everywhere without waiting ~50 ms per request 300 times.
    warmup: [64, 256],
  },
];

const dir = mkdtempSync(join(tmpdir(), "aiproxy-bench-"));
const secret = "bench-secret-0123456789abcdef";
const storePath = join(dir, "ledger.sqlite");
const inProcess = env["BENCH_IN_PROCESS"] === "1";
let proxyUrl0: string;
let proxyPid: number | undefined;
let stopProxy: () => Promise<void>;
if (inProcess) {
  const chain = new MemoryChainClient();
  chain.open(secret, 10n ** 30n);
  const config = parseConfig({
    port: 0,
    log_level: "warn",
    store: { path: storePath, synchronous },
    providers: [
      { name: "mock", type: "openai-compatible", base_url: instantMock.url },
      { name: "mock-paced", type: "openai-compatible", base_url: pacedMock.url },
    ],
    models: [
      { id: "mock-model", input_price: "1000", output_price: "2000", providers: ["mock"] },
      { id: "mock-paced", input_price: "1000", output_price: "2000", providers: ["mock-paced"] },
    ],
  });
  const proxy = await startProxy(config, { chain, logger: createLogger("warn") });
  proxyUrl0 = proxy.url;
  stopProxy = () => proxy.stop(2000);
} else {
  const proxy = await spawnProxy(root, "proxy");
  proxyUrl0 = proxy.match[1]!;
  proxyPid = proxy.pid;
  stopProxy = proxy.stop;
}

/** The proxy of checkout `from` in its own process, on its own ledger file. */
async function spawnProxy(from: string, name: string): Promise<Spawned> {
  const configPath = join(dir, `${name}.yaml`);
  writeFileSync(
    configPath,
    [
      "log_level: warn",
      "chain:",
      "  type: memory",
      "  conversations:",
      `    - { secret: "${secret}", amount: "${10n ** 30n}" }`,
      `store: { path: "${join(dir, `${name}-ledger.sqlite`)}", synchronous: ${synchronous} }`,
      "providers:",
      `  - { name: mock, type: openai-compatible, base_url: "${instantMock.url}" }`,
      `  - { name: mock-paced, type: openai-compatible, base_url: "${pacedMock.url}" }`,
      "models:",
      '  - { id: mock-model, input_price: "1000", output_price: "2000", providers: [mock] }',
      '  - { id: mock-paced, input_price: "1000", output_price: "2000", providers: [mock-paced] }',
    ].join("\n"),
  );
  return spawnNode(
    [
      // BENCH_PROXY_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the proxy.
      ...(env["BENCH_PROXY_NODE_ARGS"]?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      "proxy/src/main.ts",
      "--config",
      configPath,
      "--port",
      "0",
    ],
    /"msg":"aiproxy ready","url":"([^"]+)"/,
    { cwd: from, timeoutMs: 60_000 },
  );
}

const baselineDir = env["BENCH_BASELINE_DIR"];
const baseline = baselineDir ? await spawnProxy(baselineDir, "baseline") : undefined;
const baselineUrl = baseline ? new URL(`${baseline.match[1]!}/v1/chat/completions`) : undefined;
const proxyUrl = new URL(`${proxyUrl0}/v1/chat/completions`);
const proxyHeaders = { authorization: `Bearer ${secret}` };

// The cheapest possible extra hop on this machine: a bare node:http forwarder in its own process
// (keep-alive agent, bytes piped both ways, no auth, no ledger, no SSE parsing), one per mock.
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
const bareHops = new Map<Profile, Spawned>();
if (env["BENCH_BARE_HOP"] !== "0") {
  for (const profile of profiles) {
    bareHops.set(
      profile,
      await spawnNode(["-e", bareHopSource], /bare hop (\d+)/, {
        env: { ...env, MOCK_URL: profile.mock.url },
        timeoutMs: 10_000,
      }),
    );
  }
}

/** The request body of a profile: what the client sends to the proxy, and to the others. */
function bodiesOf(profile: Profile) {
  const body = {
    model: profile.model,
    messages: [{ role: "user", content: "Say something about foxes." }],
    stream: true,
    max_tokens: 64,
  };
  // Direct (and every reference) asks for the usage chunk the proxy injects upstream: the mock does
  // the same work either way.
  return {
    proxy: JSON.stringify(body),
    direct: JSON.stringify({ ...body, stream_options: { include_usage: true } }),
  };
}

// One gateway for both profiles: it picks the upstream from a header per request.
let portkey: (Spawned & { url: URL }) | undefined;
const portkeyHeaders = (profile: Profile) => ({
  authorization: "Bearer anything",
  "x-portkey-provider": "openai",
  "x-portkey-custom-host": profile.mock.url,
});
if (!portkeySkipped) {
  try {
    const port = await freePort();
    const gateway = await spawnNode(
      [join(portkeyGateway, "build", "start-server.js"), `--port=${port}`, "--headless"],
      /Ready for connections/,
      { cwd: portkeyDir, timeoutMs: 30_000 },
    );
    portkey = { ...gateway, url: new URL(`http://127.0.0.1:${port}/v1/chat/completions`) };
  } catch (err) {
    portkeySkipped = `it did not start: ${(err as Error).message}`;
  }
}
if (portkey) {
  // It re-frames the SSE stream: make sure content TTFB is still detected before timing anything.
  try {
    for (const profile of profiles) {
      const check = streamOnce(portkey.url, bodiesOf(profile).direct, portkeyHeaders(profile));
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no complete answer within 10 s")), 10_000);
      });
      await Promise.race([check, hung]).finally(() => clearTimeout(timer));
    }
  } catch (err) {
    portkeySkipped = `a streaming request through it failed: ${(err as Error).message}`;
    await portkey.stop();
    portkey = undefined;
  }
}

interface Paths {
  direct: Path;
  proxy: Path;
  references: Reference[];
}

function pathsOf(profile: Profile): Paths {
  const bodies = bodiesOf(profile);
  const directUrl = new URL(`${profile.mock.url}/chat/completions`);
  const references: Reference[] = [];
  const bare = bareHops.get(profile);
  if (bare) {
    const url = new URL(`http://127.0.0.1:${bare.match[1]}/`);
    references.push({
      row: "bare",
      label: "reference: bare forwarder",
      pid: bare.pid,
      fire: () => streamOnce(url, bodies.direct),
    });
  }
  if (baseline && baselineUrl) {
    references.push({
      row: "base",
      label: `reference: the proxy of ${baselineDir}`,
      pid: baseline.pid,
      fire: () => streamOnce(baselineUrl, bodies.proxy, proxyHeaders),
    });
  }
  if (portkey) {
    const { url } = portkey;
    const headers = portkeyHeaders(profile);
    references.push({
      row: "portkey",
      label: "reference: Portkey gateway (no auth, no ledger)",
      pid: portkey.pid,
      fire: () => streamOnce(url, bodies.direct, headers),
    });
  }
  return {
    direct: { fire: () => streamOnce(directUrl, bodies.direct), pid: undefined },
    proxy: { fire: () => streamOnce(proxyUrl, bodies.proxy, proxyHeaders), pid: proxyPid },
    references,
  };
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

/** A path against direct, per round and then the median: both runs of one round saw the same load. */
function against(ds: Result[], xs: Result[]) {
  const ratios = ds.map((d, i) => xs[i]!.rps / d.rps);
  return {
    addedP50: median(ds.map((d, i) => xs[i]!.p50 - d.p50)),
    addedP99: median(ds.map((d, i) => xs[i]!.p99 - d.p99)),
    ratio: median(ratios),
    ratios,
  };
}

const fmt = (n: number) => n.toFixed(3).padStart(8);
const us = (n: number | undefined) => (n === undefined ? "     n/a" : n.toFixed(0).padStart(8));
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Runs one concurrency level of one profile, prints its rows, returns proxy and references vs direct. */
async function measure(paths: Paths, concurrency: number, total: number) {
  const perRound = Math.max(concurrency, Math.ceil(total / rounds));
  const ds: Result[] = [];
  const ps: Result[] = [];
  const rs = paths.references.map(() => [] as Result[]);
  for (let r = 0; r < rounds; r++) {
    // References lead each round, their own order alternating like direct and proxy.
    const order = paths.references.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) rs[i]!.push(await run(concurrency, perRound, paths.references[i]!));
    // ABBA: neither path always runs first (or last) in a round.
    if (r % 2 === 0) {
      ds.push(await run(concurrency, perRound, paths.direct));
      ps.push(await run(concurrency, perRound, paths.proxy));
    } else {
      ps.push(await run(concurrency, perRound, paths.proxy));
      ds.push(await run(concurrency, perRound, paths.direct));
    }
  }
  const row = (name: string, r: ReturnType<typeof summary>, ownCpu: boolean) =>
    `${String(concurrency).padStart(7)} | ${name.padEnd(7)} | ${fmt(r.p50)}    | ${fmt(r.p99)}    | ${r.rps.toFixed(0).padStart(7)} | ${us(r.cpuHere)}        | ${ownCpu ? us(r.cpuProxy) : "       -"}`;
  console.log(row("direct", summary(ds), false));
  console.log(row("proxy", summary(ps), true));
  const references = new Map<string, ReturnType<typeof against>>();
  paths.references.forEach((ref, i) => {
    const vs = against(ds, rs[i]!);
    references.set(ref.row, vs);
    console.log(
      `${row(ref.row, summary(rs[i]!), true)}   <- ${ref.label}, ${pct(vs.ratio)} of direct, added p50 ${vs.addedP50.toFixed(3)} ms, p99 ${vs.addedP99.toFixed(3)} ms`,
    );
  });
  const proxy = against(ds, ps);
  console.log(
    `        | added   | ${fmt(proxy.addedP50)}    | ${fmt(proxy.addedP99)}    | ratio ${pct(proxy.ratio)} of direct (rounds: ${proxy.ratios.map((x) => (x * 100).toFixed(0)).join(" ")} %)`,
  );
  const base = paths.references.findIndex((ref) => ref.row === "base");
  if (base >= 0) {
    const perRound = ps.map((p, i) => p.rps / rs[base]![i]!.rps);
    console.log(
      `        | vs base | proxy / baseline throughput ${pct(median(perRound))} (rounds: ${perRound.map((x) => (x * 100).toFixed(0)).join(" ")} %), added p50 vs baseline ${(summary(ps).p50 - summary(rs[base]!).p50).toFixed(3)} ms`,
    );
  }
  return { proxy, references };
}

const load0 = loadavg();
console.log(
  `proxy bench (sqlite synchronous=${synchronous}; proxy ${inProcess ? "in this process" : "in its own process"}; client and mocks in this process)`,
);
console.log(
  `environment: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}, load average ${load0.map((l) => l.toFixed(2)).join(" ")} at start.`,
);
console.log(
  "caveat: client, mock and proxy share these cores (and any other work on the machine); the proxy path has a full extra HTTP hop (two more sockets, parse and serialize) that direct does not. Medians of interleaved rounds.",
);
if (portkeySkipped) console.log(`portkey: skipped, ${portkeySkipped}. The bench goes on without it.`);
else {
  console.log(
    "portkey: its stream reader waits 25 ms before it passes on the first event (a setTimeout in @portkey-ai/gateway 1.15.2), which is its TTFB floor here.",
  );
}
const comparisons: string[] = [];
try {
  for (const profile of profiles) {
    const paths = pathsOf(profile);
    // Right before its rounds: servers close keep-alive sockets idle for 5 s, so an earlier warm-up
    // would be lost on this profile's upstream connections.
    const [warmConcurrency, warmTotal] = profile.warmup;
    for (let i = 0; i < 2; i++) {
      for (const path of [paths.direct, paths.proxy, ...paths.references]) {
        await run(warmConcurrency, warmTotal, path);
      }
    }
    console.log(`\nprofile ${profile.name}: ${profile.about}`);
    console.log(
      "streams | path    | ttfb p50 ms | ttfb p99 ms |   req/s | cpu µs/req here | cpu µs/req proxy",
    );
    const verdicts: string[] = [];
    for (const [concurrency, total] of profile.levels) {
      const { proxy, references } = await measure(paths, concurrency, total);
      const name = `${profile.name} c=${concurrency}`;
      verdicts.push(
        `${name}: p50 added ${proxy.addedP50.toFixed(3)} ms (target <= 1) ${proxy.addedP50 <= 1 ? "OK" : "MISS"}; ` +
          `p99 added ${proxy.addedP99.toFixed(3)} ms (target <= 5) ${proxy.addedP99 <= 5 ? "OK" : "MISS"}; ` +
          `throughput ${pct(proxy.ratio)} (target >= 80 %) ${proxy.ratio >= 0.8 ? "OK" : "MISS"}`,
      );
      const other = references.get("portkey");
      comparisons.push(
        `${name}: proxy ${pct(proxy.ratio)} of direct, added p50 ${proxy.addedP50.toFixed(3)} ms; ` +
          (other
            ? `Portkey ${pct(other.ratio)}, added p50 ${other.addedP50.toFixed(3)} ms`
            : "Portkey not measured"),
      );
    }
    console.log(verdicts.join("\n"));
  }
  console.log(`\nproxy vs Portkey gateway (throughput as % of direct, added TTFB p50):`);
  console.log(comparisons.join("\n"));
  if (resent > 0) {
    console.log(`client: ${resent} requests resent after the server closed their idle keep-alive socket`);
  }
  console.log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
} finally {
  await stopProxy();
  await baseline?.stop();
  for (const hop of bareHops.values()) await hop.stop();
  await portkey?.stop();
  await instantMock.close();
  await pacedMock.close();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
}
