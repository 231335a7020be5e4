// `npm run bench:scale`: requests/s through ONE and then TWO proxy processes sharing the JetStream
// ledger (store.type jetstream), same mock upstream, same client load, measured in one run; prints
// the ratio. Load: BENCH_CONCURRENCY (32) non-streaming requests in flight, spread over
// BENCH_CONVERSATIONS (64) conversations (many users; one hot conversation serializes on its CAS
// key by design), BENCH_SECONDS (3) per phase. Everything (client, mock, nats-server, proxies) shares
// this machine's cores, so the ratio shows the shared ledger does not serialize proxies; it is not a
// cluster's scaling factor.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { startMockUpstream } from "#test/helpers/mock-upstream";
import { type ChildProxy, spawnProxy, startNatsServer } from "#test/helpers/nats-server";
import { newSecret, UPSTREAM_KEY } from "#test/helpers/proxy";

const seconds = Number(process.env["BENCH_SECONDS"] ?? 3);
const concurrency = Number(process.env["BENCH_CONCURRENCY"] ?? 32);
const conversations = Number(process.env["BENCH_CONVERSATIONS"] ?? 64);
const agent = new Agent({ keepAlive: true, maxSockets: 512 });
const body = JSON.stringify({
  model: "mock-model",
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 16,
});

function once(url: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/chat/completions`,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          authorization: `Bearer ${secret}`,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function phase(urls: string[], secrets: string[]): Promise<{ rps: number; errors: number }> {
  // Warm-up: connections, first chain lookups, JIT.
  await Promise.all(secrets.map((s, i) => once(urls[i % urls.length]!, s)));
  let done = 0;
  let errors = 0;
  let n = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const i = n++;
        const status = await once(urls[i % urls.length]!, secrets[i % secrets.length]!).catch(() => 0);
        if (status === 200) done++;
        else errors++;
      }
    }),
  );
  return { rps: done / ((performance.now() - started) / 1000), errors };
}

const dir = mkdtempSync(join(tmpdir(), "aiproxy-bench-scale-"));
const server = await startNatsServer();
const upstream = await startMockUpstream({ reply: "a short benchmark answer" });
const children: ChildProxy[] = [];
try {
  const secrets = Array.from({ length: conversations }, () => newSecret());
  const configFile = join(dir, "proxy.yaml");
  writeFileSync(
    configFile,
    stringify({
      port: 0,
      log_level: "warn",
      chain: {
        type: "memory",
        conversations: secrets.map((secret) => ({ secret, amount: "1000000000000" })),
      },
      store: { type: "jetstream" },
      nats: { servers: [server.url], transport: false },
      providers: [
        { name: "mock", type: "openai-compatible", base_url: upstream.url, api_key_env: "MOCK_UPSTREAM_KEY" },
      ],
      models: [{ id: "mock-model", input_price: "1000000", output_price: "2000000", providers: ["mock"] }],
    }),
  );
  const spawnOne = (id: string) =>
    spawnProxy(configFile, { AIPROXY_INSTANCE_ID: id, MOCK_UPSTREAM_KEY: UPSTREAM_KEY });
  children.push(await spawnOne("bench-1"));
  const one = await phase([children[0]!.url], secrets);
  children.push(await spawnOne("bench-2"));
  const two = await phase(
    children.map((c) => c.url),
    secrets,
  );
  const fmt = (r: { rps: number; errors: number }) =>
    `${r.rps.toFixed(0).padStart(6)} req/s${r.errors ? ` (${r.errors} errors)` : ""}`;
  console.log(
    `JetStream-shared ledger, ${concurrency} in flight, ${conversations} conversations, ${seconds}s per phase`,
  );
  console.log(`  1 proxy process : ${fmt(one)}`);
  console.log(`  2 proxy processes: ${fmt(two)}`);
  console.log(`  ratio 2/1        : ${(two.rps / one.rps).toFixed(2)}x`);
} finally {
  for (const c of children) await c.kill("SIGTERM").catch(() => {});
  agent.destroy();
  await upstream.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
