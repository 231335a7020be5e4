// SECURITY.md T20 across processes: proxies started the same way (same config, same data dir) on one
// SQLite file or one JetStream bucket. The second live claimant of an identity refuses to start and
// says who holds it; once the holder is killed (-9), the next process takes the identity over at
// once (same host, its pid is gone) and its startup recovery bills the dead one's open reservation.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { startMockUpstream } from "./helpers/mock-upstream.js";
import { type ChildProxy, type NatsServer, spawnProxy, startNatsServer } from "./helpers/nats-server.js";
import { newSecret } from "./helpers/proxy-process.js";

const dir = mkdtempSync(join(tmpdir(), "aiproxy-identity-"));
let nats: NatsServer;
const children: ChildProxy[] = [];
test.before(async () => {
  nats = await startNatsServer();
});
test.after.always(async () => {
  for (const c of children) await c.kill();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const claimedId = (output: string) =>
  /"instance_id":"(proxy-[0-9a-f]{8})","contract_id":"[^"]+","msg":"ledger claimed"/.exec(output)?.[1];

for (const kind of ["sqlite", "jetstream"] as const) {
  test.serial(
    `T20 ${kind}: a second process claiming a live identity refuses to start and says why; after kill -9 the next one takes it over and bills the dead one's reservation`,
    async (t) => {
      const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(" ");
      const mock = await startMockUpstream({ reply: words, chunkDelayMs: 100 });
      const secret = newSecret();
      const root = mkdtempSync(join(dir, `${kind}-`));
      // Nothing about identity is configured: SQLite keeps it beside its file, JetStream in data_dir.
      const config = {
        log_level: "info",
        port: 0,
        chain: {
          type: "memory",
          contract_id: "token.test.near",
          conversations: [{ secret, amount: "100000", receiver_id: "alice.test.near" }],
        },
        store:
          kind === "sqlite"
            ? { path: join(root, "ledger.sqlite") }
            : { type: "jetstream", bucket: `identity_${randomBytes(4).toString("hex")}` },
        ...(kind === "jetstream" ? { nats: { servers: [nats.url] }, data_dir: join(root, "data") } : {}),
        providers: [{ name: "mock", type: "openai-compatible", base_url: mock.url }],
        models: [{ id: "mock-model", input_price: "1000000", output_price: "2000000", providers: ["mock"] }],
      };
      const file = join(root, "proxy.yaml");
      writeFileSync(file, JSON.stringify(config)); // JSON is YAML
      const started = async () => {
        const p = await spawnProxy(file);
        children.push(p);
        return p;
      };
      const headers = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
      try {
        const first = await started();
        const id = claimedId(first.output());
        t.truthy(id, first.output());
        const res = await fetch(`${first.url}/v1/chat/completions`, {
          method: "POST",
          headers,
          body: JSON.stringify({
            model: "mock-model",
            messages: [{ role: "user", content: "long" }],
            stream: true,
            max_tokens: 500,
          }),
        });
        const reserved = res.headers.get("x-aiproxy-balance-reserved") ?? "(none)";
        const reader = res.body!.getReader();
        await reader.read(); // in flight: its reservation is open under the first process's identity

        const refused = await started().then(
          () => undefined,
          (e: Error) => e.message,
        );
        t.truthy(refused, "the second process must not start on a live identity");
        t.regex(String(refused), /aiproxy failed to start/);
        t.regex(
          String(refused),
          new RegExp(`instance ${id} is held by pid ${first.child.pid} on ${hostname()}`),
        );
        t.regex(String(refused), /give this one its own data_dir or instance_id, or stop the other/);

        await first.kill("SIGKILL");
        await reader.cancel().catch(() => {});
        const next = await started();
        t.is(claimedId(next.output()), id, "the identity (and its reservations) stay with this data dir");
        t.regex(next.output(), /taking over the lease of a dead process/);
        const state = (await (await fetch(`${next.url}/v1/conversations/current`, { headers })).json()) as {
          spent: string;
          reserved: string;
        };
        t.is(state.reserved, "0", "startup recovery closed the dead process's reservation");
        t.is(state.spent, reserved, "billed at its reservation (the crash rule, T14)");
        await next.kill("SIGTERM");
      } finally {
        await mock.close();
      }
    },
  );
}
