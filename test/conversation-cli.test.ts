// `npm run conversation` end to end on localnet: the real token contract, the real proxy on the
// NearChainClient, a mock upstream, and the CLI as a user runs it (a child process). Two journeys:
// open → chat with the printed key (the official openai client, and the printed snippet run as is) →
// refund → balance = before − spent exactly; and open → proxy gone → refund refused with the way
// out → expiry (fast-forward) → reclaim → balance = before.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import anyTest, { type TestFn } from "ava";
import OpenAI from "openai";
import { parseConfig } from "#internal/proxy/config";
import { createLogger } from "#internal/proxy/logger";
import { type RunningProxy, startProxy } from "#internal/proxy/server";
import { formatAmount } from "#web4/amount";
import type { ConversationView } from "#wire";
import { conversationIdOf } from "#wire/crypto";
import { projectRoot } from "./helpers/localnet.js";
import { type MockUpstream, startMockUpstream } from "./helpers/mock-upstream.js";
import { type NearStack, startNearStack } from "./helpers/near-stack.js";
import { passTime } from "./helpers/token.js";

const exec = promisify(execFile);
const AIC = 1_000_000n; // 6 decimals

interface Ctx {
  stack: NearStack;
  mock: MockUpstream;
  dir: string;
  keyFile: string;
  proxies: RunningProxy[];
}
const test = anyTest as TestFn<Ctx>;

async function startLocalProxy(t: { context: Ctx }): Promise<RunningProxy> {
  const { stack, mock } = t.context;
  const config = parseConfig({
    port: 0,
    store: { path: ":memory:" },
    chain: { type: "near", rpc_url: stack.rpcUrl, contract_id: stack.token.accountId },
    providers: [{ name: "mock", type: "openai-compatible", base_url: mock.url }],
    models: [{ id: "mock-model", input_price: "1000000", output_price: "2000000", providers: ["mock"] }],
    // Operator settlement on (idle after the default 24 h): `status` says when it would end it.
    settle: { operator_account_id: stack.world.owner.accountId },
  });
  const proxy = await startProxy(config, {
    env: {
      ...process.env,
      AIPROXY_REFUND_SIGNER_KEY: stack.refundSigner.privateKey,
      AIPROXY_OPERATOR_KEY: (await stack.world.owner.getKey())!.toString(),
    },
    logger: createLogger("warn"),
  });
  t.context.proxies.push(proxy);
  return proxy;
}

test.before(async (t) => {
  const stack = await startNearStack({ userFunds: 100n * AIC });
  const dir = mkdtempSync(join(tmpdir(), "conversation-cli-"));
  const keyFile = join(dir, "alice.json");
  const key = (await stack.world.alice.getKey())!.toString();
  writeFileSync(keyFile, JSON.stringify({ account_id: stack.world.alice.accountId, private_key: key }));
  t.context = {
    stack,
    dir,
    keyFile,
    proxies: [],
    mock: await startMockUpstream({ reply: "hello from the cli test" }),
  };
});

test.after.always(async (t) => {
  for (const p of t.context.proxies) await p.stop(2000).catch(() => {});
  await t.context.mock?.close().catch(() => {});
  await t.context.stack?.close().catch(() => {});
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

/** Runs the CLI as a user would; never throws, returns what it printed and its exit code. */
async function cli(t: { context: Ctx }, ...args: string[]) {
  const { stack, dir } = t.context;
  const argv = [
    ...args,
    "--rpc",
    stack.rpcUrl,
    "--contract",
    stack.token.accountId,
    "--secrets-dir",
    join(dir, "secrets"),
  ];
  try {
    const { stdout, stderr } = await exec(
      process.execPath,
      ["--import=tsx", "scripts/conversation.ts", ...argv],
      {
        cwd: projectRoot,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** What `open` printed a user needs: the key, the base URL, the id and the JavaScript snippet. */
function parseOpened(stdout: string) {
  const field = (label: string) => new RegExp(`^${label}\\s+(\\S+)$`, "m").exec(stdout)?.[1] ?? "";
  const id = /^Conversation ([0-9a-f]{64}) is open$/m.exec(stdout)?.[1] ?? "";
  const lines = stdout.split("\n");
  const from = lines.findIndex((l) => l.startsWith("openai (JavaScript")) + 1;
  const to = lines.findIndex((l, i) => i >= from && l.trim() === "");
  const snippet = lines
    .slice(from, to)
    .map((l) => l.slice(2))
    .join("\n");
  return { apiKey: field("API key"), baseUrl: field("Base URL"), id, snippet, secretFile: field("  secret") };
}

const view = (t: { context: Ctx }, id: string) =>
  t.context.stack.conversation(id) as Promise<ConversationView | null>;

test.serial("open → chat with the printed key → refund: balance = before − spent exactly", async (t) => {
  const { stack } = t.context;
  const { alice, owner } = stack.world;
  const proxy = await startLocalProxy(t);
  // The CLI finds the proxy where the web app does: the contract's web4 config.
  await owner.call(stack.token, "set_web4_config", {
    proxy_url: proxy.url,
    network: "localnet",
    rpc_url: stack.rpcUrl,
  });
  const before = await stack.balanceOf(alice);
  const operatorBefore = await stack.balanceOf(owner);

  const opened = await cli(
    t,
    "open",
    "--account",
    alice.accountId,
    "--amount",
    "5",
    "--key-file",
    t.context.keyFile,
  );
  t.is(opened.code, 0, opened.stderr);
  t.log(opened.stdout);
  const { apiKey, baseUrl, id, snippet } = parseOpened(opened.stdout);
  t.regex(apiKey, /^[0-9a-f]{64}$/);
  t.is(conversationIdOf(apiKey), id, "the printed key is the secret whose hash is the conversation id");
  t.is(baseUrl, `${proxy.url}/v1`);
  t.regex(opened.stdout, /deposit\s+5 AIC \(5000000 base units\)/);
  t.like(await view(t, id), { receiver_id: alice.accountId, deposit: (5n * AIC).toString(), status: "open" });
  t.is(await stack.balanceOf(alice), before - 5n * AIC);
  // The secret is kept in a 0600 file inside a 0700 folder.
  const secretPath = join(t.context.dir, "secrets", "localnet", stack.token.accountId, `${id}.json`);
  t.is(statSync(secretPath).mode & 0o777, 0o600);
  t.is(statSync(join(secretPath, "..")).mode & 0o777, 0o700);
  t.regex(opened.stdout, new RegExp(`secret\\s+${secretPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));

  // Chat through the proxy with exactly what was printed: the openai client, and the snippet as a file.
  const billedBefore = t.context.mock.billed.length;
  const ai = new OpenAI({ baseURL: baseUrl, apiKey, maxRetries: 0 });
  const first = await ai.chat.completions.create({
    model: "mock-model",
    messages: [{ role: "user", content: "hi" }],
  });
  t.is(first.choices[0]?.message.content, "hello from the cli test");
  const scratch = join(projectRoot, "build", "tmp");
  mkdirSync(scratch, { recursive: true });
  const file = join(scratch, `snippet-${process.pid}.mjs`);
  writeFileSync(file, snippet);
  try {
    const ran = await exec(process.execPath, [file], { cwd: scratch });
    t.is(ran.stdout.trim(), "hello from the cli test", "the printed snippet works as printed");
  } finally {
    rmSync(file, { force: true });
  }
  const usage = (await (
    await fetch(`${baseUrl}/conversations/current`, { headers: { authorization: `Bearer ${apiKey}` } })
  ).json()) as {
    spent: string;
  };
  const spent = BigInt(usage.spent);
  // What the upstream billed for the two answers, at 1 unit per prompt token and 2 per completion token.
  const billed = t.context.mock.billed.slice(billedBefore);
  t.is(billed.length, 2);
  t.is(
    spent,
    billed.reduce((sum, u) => sum + BigInt(u.prompt_tokens) + 2n * BigInt(u.completion_tokens), 0n),
  );

  const shown = await cli(t, "status", "--id", id.slice(0, 10));
  t.is(shown.code, 0, shown.stderr);
  t.true(shown.stdout.includes(`spent ${formatAmount(spent, 6)} AIC (${spent} base units)`), shown.stdout);
  t.regex(shown.stdout, /settles at\s+\S+ \(in (23 h \d+ min|1 d 0 h)\): if unused until then \(idle\)/);
  const listed = await cli(t, "list", "--account", alice.accountId);
  t.regex(listed.stdout, new RegExp(`#0\\s+${id.slice(0, 12)}\\s+open\\s+5 AIC .*\\[secret here\\]`));

  const refunded = await cli(t, "refund", "--id", id.slice(0, 12), "--key-file", t.context.keyFile);
  t.is(refunded.code, 0, refunded.stderr);
  t.log(refunded.stdout);
  t.is(await stack.balanceOf(alice), before - spent, "the opener paid exactly what the proxy metered");
  t.is(await stack.balanceOf(owner), operatorBefore + spent, "the operator got exactly that");
  t.like(await view(t, id), { status: "refunded", refund_amount: (5n * AIC - spent).toString() });
  t.regex(refunded.stdout, /Refunded: .* now holds/);
  // Asking again is harmless: the chain says it is done.
  const again = await cli(t, "refund", "--id", id.slice(0, 12), "--key-file", t.context.keyFile);
  t.is(again.code, 0);
  t.regex(again.stdout, /already refunded/);
  // And the key serves nothing more.
  await t.throwsAsync(
    ai.chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] }),
    {
      instanceOf: OpenAI.PermissionDeniedError,
    },
  );
});

test.serial(
  "open → proxy gone → refund refused with the way out → expiry → reclaim: balance = before",
  async (t) => {
    const { stack } = t.context;
    const { alice, bob } = stack.world;
    const proxy = await startLocalProxy(t);
    const before = await stack.balanceOf(alice);
    // Through npm, as the README says (npm run conversation -- …).
    const { stdout, stderr } = await exec(
      "npm",
      [
        "run",
        "-s",
        "conversation",
        "--",
        "open",
        ...[
          "--account",
          alice.accountId,
          "--amount",
          "2.5",
          "--expires-in",
          "2h",
          "--key-file",
          t.context.keyFile,
        ],
        ...["--proxy-url", proxy.url, "--rpc", stack.rpcUrl, "--contract", stack.token.accountId],
        ...["--secrets-dir", join(t.context.dir, "secrets")],
      ],
      { cwd: projectRoot },
    );
    t.log(stdout, stderr);
    const { apiKey, id } = parseOpened(stdout);
    const opened = (await view(t, id))!;
    t.is(BigInt(opened.expires_at) - BigInt(opened.created_at), 2n * 3600n * 10n ** 9n);
    const ai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey, maxRetries: 0 });
    await ai.chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "hi" }] });
    await proxy.stop(2000);

    const refused = await cli(t, "refund", "--id", id, "--key-file", t.context.keyFile);
    t.is(refused.code, 1);
    t.regex(refused.stderr, /^error: the proxy at .* does not answer .*; your escrow is safe on chain$/m);
    t.regex(refused.stderr, /^next: retry later; or once it expires at .*\(in 1 h 59 min\).*reclaim --id/m);
    t.notRegex(refused.stderr, /\s+at .*\.(ts|js):\d+/, "no stack trace");
    const early = await cli(t, "reclaim", "--id", id, "--key-file", t.context.keyFile);
    t.is(early.code, 1);
    t.regex(early.stderr, /error: conversation .* expires at .*: it cannot be reclaimed before/);
    t.regex(early.stderr, /next: get the unspent part now: npm run conversation -- refund --id/);

    await passTime(stack.worker, 2 * 3600);
    const expired = await cli(t, "status", "--id", id);
    t.regex(expired.stdout, /status\s+expired: open, and its opener may reclaim it now/);
    t.regex(expired.stdout, /next: npm run conversation -- reclaim --id/);
    t.regex(expired.stdout, /proxy\s+the proxy at .* does not answer/);
    // Anyone may send it (bob here, with npm start-style keys); the deposit goes to alice.
    const bobKeys = join(t.context.dir, "keys.json");
    writeFileSync(bobKeys, JSON.stringify({ [bob.accountId]: (await bob.getKey())!.toString() }));
    const reclaimed = await cli(
      t,
      "reclaim",
      "--id",
      id.slice(0, 8),
      "--account",
      bob.accountId,
      "--key-file",
      bobKeys,
    );
    t.is(reclaimed.code, 0, reclaimed.stderr);
    t.regex(reclaimed.stdout, /Reclaimed 2\.5 AIC \(2500000 base units\)/);
    t.is(await stack.balanceOf(alice), before, "the whole deposit is back");
    t.like(await view(t, id), { status: "reclaimed", refund_amount: "2500000" });
    const listed = await cli(t, "list", "--account", alice.accountId);
    t.regex(listed.stdout, new RegExp(`#1\\s+${id.slice(0, 12)}\\s+reclaimed`));
    const twice = await cli(t, "reclaim", "--id", id, "--key-file", t.context.keyFile);
    t.is(twice.code, 0);
    t.regex(twice.stdout, /already reclaimed/);
  },
);

test.serial("bad input gets a clear error and the next step, never a stack trace", async (t) => {
  const { stack } = t.context;
  const { alice } = stack.world;
  const cases: [string[], RegExp, RegExp][] = [
    [
      ["open", "--account", alice.accountId, "--amount", "5x"],
      /--amount 5x: "5x" is not a number/,
      /write a AIC amount/,
    ],
    [
      ["open", "--account", alice.accountId, "--amount", "1000"],
      /holds .* less than 1,000 AIC \(1000000000 base units\)/,
      /get tokens first/,
    ],
    [
      ["open", "--account", alice.accountId, "--amount", "1", "--expires-in", "10m"],
      /outside 3600\.\.7776000 s/,
      /omit it for the default/,
    ],
    [
      ["open", "--account", "stranger.test.near", "--amount", "1"],
      /stranger.test.near is not registered/,
      /storage_deposit/,
    ],
    [["status", "--id", "zz"], /"zz" is not a conversation id/, /pass the 64 hex characters/],
    [["status", "--id", "ab".repeat(32)], /is not on/, /check --network and --contract/],
    [["refund", "--id", "ab".repeat(32)], /the secret of .* is not on this machine/, /reclaim --id/],
    [["status"], /which conversation\?/, /pass --id/],
  ];
  for (const [args, error, next] of cases) {
    const extra =
      args[0] === "open" ? ["--key-file", t.context.keyFile, "--proxy-url", "http://127.0.0.1:9"] : [];
    const r = await cli(t, ...args, ...extra);
    t.is(r.code, 1, args.join(" "));
    t.regex(r.stderr, new RegExp(`^error: .*${error.source}`, "m"), r.stderr);
    t.regex(r.stderr, new RegExp(`^next: .*${next.source}`, "m"), r.stderr);
    t.notRegex(r.stderr, /\n\s+at /, "no stack trace");
  }
  const down = await exec(
    process.execPath,
    [
      "--import=tsx",
      "scripts/conversation.ts",
      "list",
      "--account",
      "a.test.near",
      "--rpc",
      "http://127.0.0.1:9",
    ],
    {
      cwd: projectRoot,
    },
  ).catch((e) => e as { stderr: string });
  t.regex(down.stderr, /error: the NEAR RPC does not answer/);
  t.regex(down.stderr, /next: on localnet start it with `npm start`/);
});
