// T14: kill -9 the proxy mid-stream, restart it on the same SQLite file, check the ledger and refund.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { Wallet } from "ethers";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { SqliteStore } from "#internal/proxy/store/sqlite";
import { refundSignerAddress } from "#wire/crypto";
import { startMockUpstream } from "./helpers/mock-upstream.js";
import { billFor } from "./helpers/provider-billing.js";
import { newSecret, projectRootForProxy } from "./helpers/proxy-process.js";

const dir = mkdtempSync(join(tmpdir(), "aiproxy-crash-"));
const children = new Set<ChildProcess>();
test.after.always(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function spawnProxy(configPath: string, signerKey: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "proxy/src/main.ts", "--config", configPath, "--port", "0"],
    {
      cwd: projectRootForProxy,
      env: { ...process.env, AIPROXY_REFUND_SIGNER_KEY: signerKey, AIPROXY_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`proxy did not start: ${out}`)), 30_000);
    child.stderr!.on("data", (d) => {
      out += String(d);
    });
    child.stdout!.on("data", (d) => {
      out += String(d);
      const m = /"msg":"aiproxy ready","url":"([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.on("exit", (code) => reject(new Error(`proxy exited with ${code}: ${out}`)));
  });
}

test("T14 crash safety: kill -9 mid-stream, restart on the same SQLite file, the ledger is consistent and refunds correctly", async (t) => {
  const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(" ");
  const mock = await startMockUpstream({ reply: words, chunkDelayMs: 20 });
  const secret = newSecret();
  const conversationId = conversationIdFromSecret(secret);
  const deposit = 100_000n;
  const storePath = join(dir, "ledger.sqlite");
  const configPath = join(dir, "proxy.yaml");
  writeFileSync(
    configPath,
    [
      "instance_id: crash-test",
      "chain:",
      "  type: memory",
      "  contract_id: token.test.near",
      "  conversations:",
      `    - secret: "${secret}"`,
      `      amount: "${deposit}"`,
      "      receiver_id: alice.test.near",
      "store:",
      `  path: ${storePath}`,
      "providers:",
      "  - name: mock",
      "    type: openai-compatible",
      `    base_url: ${mock.url}`,
      "models:",
      "  - id: mock-model",
      '    input_price: "1000000"',
      '    output_price: "2000000"',
      "    providers: [mock]",
    ].join("\n"),
  );
  const signer = Wallet.createRandom();
  const headers = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
  try {
    // Run 1: one completed request, then a stream killed in flight.
    const first = await spawnProxy(configPath, signer.privateKey);
    const done = await fetch(`${first.url}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: "mock-model",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 3,
      }),
    });
    t.is(done.status, 200);
    const completedCost = billFor(
      { model: "mock-model", messages: [{ role: "user", content: "hi" }], max_tokens: 3 },
      words,
    );
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
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    await reader.cancel().catch(() => {});

    // The durable ledger right after the crash: one reservation left open, nothing lost.
    const peek = new SqliteStore({ path: storePath, contractId: "token.test.near" });
    const crashed = (await peek.getConversation(conversationId))!;
    const open = await peek.openReservations({ conversation_id: conversationId });
    await peek.dispose();
    t.is(open.length, 1);
    const stale = open[0]!.amount;
    t.is(crashed.spent, completedCost);
    t.is(crashed.reserved, stale);

    // Run 2: recovery bills the stale reservation exactly once; the conversation keeps working.
    const second = await spawnProxy(configPath, signer.privateKey);
    const view = (await (
      await fetch(`${second.url}/v1/conversations/current`, { headers })
    ).json()) as Record<string, string>;
    t.is(view["reserved"], "0");
    t.is(view["spent"], (completedCost + stale).toString());
    t.is(BigInt(view["remaining"]!), deposit - completedCost - stale);
    const more = await fetch(`${second.url}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: "mock-model",
        messages: [{ role: "user", content: "again" }],
        max_tokens: 2,
      }),
    });
    t.is(more.status, 200);
    const totalSpent =
      completedCost +
      stale +
      billFor({ model: "mock-model", messages: [{ role: "user", content: "again" }], max_tokens: 2 }, words);
    const refund = (await (
      await fetch(`${second.url}/v1/conversations/refund`, { method: "POST", headers })
    ).json()) as {
      refund_message: string;
      signature: string;
    };
    t.is(JSON.parse(refund.refund_message).refund_amount, (deposit - totalSpent).toString());
    t.is(refundSignerAddress(refund), signer.address);
    second.child.kill("SIGKILL");
    await new Promise((r) => second.child.once("exit", r));

    // Run 3: the signed refund survived the crash too, byte for byte; no settlement happened twice.
    const third = await spawnProxy(configPath, signer.privateKey);
    const again = await (
      await fetch(`${third.url}/v1/conversations/refund`, { method: "POST", headers })
    ).json();
    t.deepEqual(again, refund);
    const blocked = await fetch(`${third.url}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "after" }] }),
    });
    t.is(blocked.status, 403);
    third.child.kill("SIGTERM");
    await new Promise((r) => third.child.once("exit", r));
    const audit = new SqliteStore({ path: storePath, contractId: "token.test.near" });
    const settlements = await audit.settlements(conversationId);
    const final = (await audit.getConversation(conversationId))!;
    await audit.dispose();
    t.is(settlements.length, 3);
    t.is(new Set(settlements.map((s) => s.reservation_id)).size, 3);
    t.is(
      settlements.reduce((sum, s) => sum + s.charged, 0n),
      final.spent,
    );
    t.is(final.spent, totalSpent);
    t.is(final.reserved, 0n);
  } finally {
    await mock.close();
  }
});
