// The web app as a product, against the real `npm start` stack (test/helpers/stack.ts: localnet,
// the token contract, the web4 gateway, the proxy on the local demo model, paced so a reload can
// land mid-stream), driven in Debian Chromium. Every amount is checked against the proxy's meter
// and the chain (near-api-js), and against what the page shows in the same units.
// Screenshots: test-artifacts/web4-e2e-start/*.png.
//
// The tests share one stack and one page and run in order:
// 1. two conversations; the key copied from the panel works in the official openai client, in the
//    panel's JavaScript snippet and its curl snippet; the app's meter shows that use;
// 2. switching keeps each history; a reload mid-stream keeps the interrupted answer and its bill;
// 3. a 402 explained in the meter's units, retried shorter; a contract error without a stack trace;
// 4. export, clear the site's data, import: keys and histories back; end & refund both, exact;
// 5. after expiry (localnet fast-forward), reclaim returns a conversation's whole deposit.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { JsonRpcProvider } from "near-api-js";
import OpenAI from "openai";
import type { Page } from "playwright-core";
import { formatAmount } from "#web4/amount";
import type { ConversationView } from "#wire";
import { artifactPath, type LaunchedBrowser, launchChromium, requireChromium } from "./helpers/browser.js";
import { freeStackPorts, type Stack, startStack, stopAllStacks } from "./helpers/stack.js";

const CONTRACT = "token.test.near";
const ALICE = "alice.test.near";
const AIC = 1_000_000n;
const WAIT = { timeout: 45_000 };
const PASSPHRASE = "correct horse battery staple";
const fmt = (raw: bigint) => `${formatAmount(raw, 6)} AIC`;

let home = "";
let stack: Stack;
let browser: LaunchedBrowser;
let page: Page;
let initial = 0n;
const convs: Record<"a" | "b", { secret: string; id: string; deposit: bigint }> = {} as never;

test.before(async () => {
  requireChromium();
  home = mkdtempSync(join(tmpdir(), "web4-e2e-start-"));
  // The demo model streams a word every 80 ms, like a slow real model: a reload can land mid-answer.
  const yaml = join(home, "proxy.yaml");
  writeFileSync(yaml, "providers:\n  - name: local\n    type: local\n    chunk_delay_ms: 80\n");
  stack = await startStack({ home, ports: await freeStackPorts(), env: { AIPROXY_CONFIG: yaml } });
  browser = await launchChromium();
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], {
    origin: new URL(stack.web4Url).origin,
  });
  page = await browser.context.newPage();
  page.setDefaultTimeout(WAIT.timeout);
});

test.after.always(async () => {
  await page?.screenshot({ path: artifactPath("web4-e2e-start/last.png"), fullPage: true }).catch(() => {});
  await browser?.close();
  await stopAllStacks();
  rmSync(home, { recursive: true, force: true });
});

const id = (testId: string) => page.getByTestId(testId);
const text = async (testId: string) => ((await id(testId).textContent()) ?? "").trim();
const shot = (name: string) =>
  page.screenshot({ path: artifactPath(`web4-e2e-start/${name}.png`), fullPage: true });

async function waitText(testId: string, want: string | RegExp) {
  const [src, flags] =
    typeof want === "string"
      ? [`^${want.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, ""]
      : [want.source, want.flags];
  await page.waitForFunction(
    ([tid, s, f]) =>
      new RegExp(s!, f).test(document.querySelector(`[data-testid="${tid}"]`)?.textContent?.trim() ?? ""),
    [testId, src, flags] as const,
    WAIT,
  );
}
const noStreaming = () =>
  page.waitForFunction(() => !document.querySelector('[data-streaming="true"]'), undefined, WAIT);

function chain() {
  const provider = new JsonRpcProvider({ url: stack.rpcUrl });
  const view = <T>(method: string, args: Record<string, unknown>) =>
    provider.callFunction({ contractId: CONTRACT, method, args }) as Promise<T>;
  return {
    balance: async (account: string) => BigInt(await view<string>("ft_balance_of", { account_id: account })),
    conversation: (conversationId: string) =>
      view<ConversationView | null>("view_ai_conversation", { conversation_id: conversationId }),
  };
}

interface Usage {
  deposit: string;
  spent: string;
  reserved: string;
  remaining: string;
}
async function usage(secret: string): Promise<Usage> {
  const res = await fetch(`${stack.proxyUrl}/v1/conversations/current`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  return (await res.json()) as Usage;
}
/** The proxy's meter once nothing is reserved (every request settled). */
async function settled(secret: string): Promise<Usage> {
  const deadline = Date.now() + WAIT.timeout;
  for (;;) {
    const u = await usage(secret);
    if (u.reserved === "0") return u;
    if (Date.now() > deadline) throw new Error("the proxy never settled");
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function signIn() {
  await id("sign-in").waitFor();
  await id("dev-account-select").selectOption(ALICE);
  await id("sign-in").click();
  await waitText("account-id", ALICE);
  await waitText("token-balance", / AIC$/);
}

/** Opens a conversation from the form; returns the key as copied from the key panel. */
async function open(amount: string) {
  if (await id("start-form").isHidden()) await id("new-conversation").click();
  await id("start-amount").fill(amount);
  await id("start").click();
  await id("key-panel").waitFor();
  await page.locator('[data-copy="key-value"]').click();
  const secret = await page.evaluate(() => navigator.clipboard.readText());
  return secret;
}

async function ask(question: string) {
  const before = await page.locator('[data-testid="message-assistant"]').count();
  await id("prompt").fill(question);
  await id("send").click();
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="message-assistant"]').length > n,
    before,
    WAIT,
  );
  await noStreaming();
  return page.locator('[data-testid="message-assistant"]').last();
}

const select = (conversationId: string) =>
  page.locator(`[data-testid="conversation-item"][data-id="${conversationId}"]`).click();

test.serial(
  "two conversations; the key from the panel works in the openai client, the JS and curl snippets; the app shows that use",
  async (t) => {
    const near = chain();
    await page.goto(stack.web4Url);
    await signIn();
    initial = await near.balance(ALICE);
    t.is(initial, 100n * AIC, "npm start funds alice with 100 AIC");
    await shot("01-signed-in");

    // A: 2 AIC. The panel shows the key, the base URL and ready snippets.
    const secretA = await open("2");
    t.regex(secretA, /^[0-9a-f]{64}$/);
    t.is(await text("key-base-url"), `${stack.proxyUrl}/v1`);
    t.is(await text("key-model"), "demo-local");
    t.is(await text("key-remaining"), "2 AIC");
    await shot("02-key-panel");
    const jsSnippet = await text("snippet-code");
    await id("snippet-tab-curl").click();
    const curlSnippet = await text("snippet-code");
    await id("key-close").click();
    const stored = JSON.parse(
      (await page.evaluate((k) => localStorage.getItem(k), `aiconv:v2:${CONTRACT}:${ALICE}`))!,
    );
    convs.a = { secret: secretA, id: stored[0].conversation_id, deposit: 2n * AIC };
    t.is(stored[0].secret, secretA, "the copied key is the conversation's secret");
    t.like(await near.conversation(convs.a.id), {
      receiver_id: ALICE,
      deposit: (2n * AIC).toString(),
      status: "open",
    });

    // Chat in the app: the answer's cost is what the proxy metered.
    const reply = await ask("Hello from conversation A");
    t.regex((await reply.textContent()) ?? "", /you said Hello from conversation A/);
    const afterFirst = await settled(secretA);
    await reply.getByTestId("message-cost").waitFor();
    t.is(await reply.getByTestId("message-cost").textContent(), fmt(BigInt(afterFirst.spent)));
    await waitText("usage-spent", fmt(BigInt(afterFirst.spent)));

    // The same key in the official openai client, in the panel's JS snippet and its curl snippet.
    const client = new OpenAI({ apiKey: secretA, baseURL: `${stack.proxyUrl}/v1` });
    const answer = await client.chat.completions.create({
      model: "demo-local",
      messages: [{ role: "user", content: "from the openai client" }],
    });
    t.regex(answer.choices[0]!.message.content ?? "", /you said from the openai client/);
    const snippetFile = artifactPath("web4-e2e-start/snippet.mjs"); // inside the repo, so `openai` resolves
    writeFileSync(snippetFile, jsSnippet);
    t.regex(execFileSync(process.execPath, [snippetFile], { encoding: "utf8" }), /you said Hello!/);
    const curlOut = execFileSync("sh", ["-c", curlSnippet], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    t.regex(JSON.parse(curlOut).choices[0].message.content, /you said Hello!/);
    const outside = await settled(secretA);
    t.true(BigInt(outside.spent) > BigInt(afterFirst.spent), "the outside calls were billed to A");
    // Reflected in the app: the meter and the list show the proxy's numbers.
    await waitText("usage-spent", fmt(BigInt(outside.spent)));
    await waitText("usage-remaining", fmt(BigInt(outside.remaining)));
    t.regex(
      (await page.locator(`[data-testid="conversation-item"][data-id="${convs.a.id}"]`).textContent()) ?? "",
      new RegExp(`${formatAmount(BigInt(outside.remaining), 6).replace(".", "\\.")} AIC left of 2 AIC`),
    );
    await shot("03-outside-use-reflected");

    // B: 1 AIC, its own key; a markdown answer with a code block.
    const secretB = await open("1");
    t.not(secretB, secretA);
    await id("key-close").click();
    const listed = JSON.parse(
      (await page.evaluate((k) => localStorage.getItem(k), `aiconv:v2:${CONTRACT}:${ALICE}`))!,
    );
    convs.b = { secret: secretB, id: listed[0].conversation_id, deposit: AIC };
    const md = await ask("Show me some markdown with code");
    t.is(
      await md.locator("pre code").textContent(),
      '// a fenced code block\nconsole.log("hello from the demo model");',
    );
    t.is(await page.getByTestId("conversation-item").count(), 2);
    t.is(await near.balance(ALICE), initial - 3n * AIC);
    await waitText("token-balance", fmt(initial - 3n * AIC));
    await shot("04-second-conversation");
  },
);

test.serial(
  "switching keeps each history; a reload mid-stream keeps the interrupted answer and shows what it was billed",
  async (t) => {
    await select(convs.a.id);
    await waitText("conversation-title", "Hello from conversation A");
    t.deepEqual(await page.getByTestId("message-user").allTextContents(), ["Hello from conversation A"]);
    await select(convs.b.id);
    await waitText("conversation-title", "Show me some markdown with code");
    t.deepEqual(await page.getByTestId("message-user").allTextContents(), [
      "Show me some markdown with code",
    ]);
    await shot("05-switched");

    const before = await settled(convs.b.secret);
    const long = "please tell me a long story about escrow refunds and tokens ".repeat(3).trim();
    await id("prompt").fill(long);
    await id("send").click();
    // Some words in, far from the end (~40 words at 80 ms each): reload.
    await page.waitForFunction(
      () => (document.querySelector('[data-streaming="true"]')?.textContent ?? "").split(" ").length > 6,
      undefined,
      WAIT,
    );
    await page.waitForTimeout(450); // the page saves a streaming answer every 400 ms
    const seen = (await page.locator('[data-streaming="true"]').textContent()) ?? "";
    await page.reload();
    const cut = page.locator('[data-testid="message-assistant"]').last();
    await cut.getByTestId("message-note").waitFor(WAIT);
    t.regex((await cut.getByTestId("message-note").textContent()) ?? "", /^Interrupted/);
    const kept = (await cut.locator(".body").textContent()) ?? "";
    t.true(kept.length > 0 && seen.startsWith(kept.slice(0, 20)), "the partial answer is kept");
    t.is((await page.getByTestId("message-user").allTextContents()).at(-1), long, "and the question");
    // Billed: what the proxy settled for the request the page walked away from.
    const after = await settled(convs.b.secret);
    const billed = BigInt(after.spent) - BigInt(before.spent);
    t.true(billed > 0n);
    await page.waitForFunction(
      (want) =>
        Array.from(document.querySelectorAll('[data-testid="message-cost"]')).at(-1)?.textContent === want,
      `billed ${fmt(billed)}`,
      WAIT,
    );
    await waitText("usage-spent", fmt(BigInt(after.spent)));
    await shot("06-interrupted-after-reload");
  },
);

test.serial(
  "a 402 is explained in the meter's units and retried shorter; a contract error shows its reason without a stack trace",
  async (t) => {
    await select(convs.a.id);
    await waitText("conversation-title", "Hello from conversation A");
    const u = await settled(convs.a.secret);
    await waitText("usage-remaining", fmt(BigInt(u.remaining)));
    await id("max-tokens").fill("10000000");
    await id("max-tokens").dispatchEvent("change");
    await id("prompt").fill("one more question");
    await id("send").click();
    await id("error-banner").waitFor(WAIT);
    const message = await text("error-message");
    const remaining = await text("usage-remaining");
    t.is(remaining, fmt(BigInt(u.remaining)));
    t.regex(
      message,
      /^Not enough left for this answer: it could cost up to 20\.\d+ AIC with max tokens 10000000 /,
    );
    t.true(
      message.includes(`and ${remaining} is left in this conversation`),
      `${message} names the meter's ${remaining}`,
    );
    t.is(await id("prompt").inputValue(), "one more question", "the message is kept");
    t.true(await id("quota-new").isVisible());
    t.true(await id("quota-end").isVisible());
    await shot("07-quota-402");
    const shorter = await text("quota-shorter");
    const fits = Number(/max (\d+) tokens/.exec(shorter)![1]);
    t.true(fits > 0 && fits < 10_000_000);
    const answers = await page.locator('[data-testid="message-assistant"]').count();
    await id("quota-shorter").click();
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="message-assistant"]').length > n,
      answers,
      WAIT,
    );
    await noStreaming();
    t.regex(
      (await page.locator('[data-testid="message-assistant"]').last().textContent()) ?? "",
      /you said one more question/,
    );
    t.is(await id("max-tokens").inputValue(), String(fits));
    await id("max-tokens").fill("");
    await id("max-tokens").dispatchEvent("change");

    // The contract refuses a purchase below one token unit's price: its reason, no QuickJS frames.
    await id("buy-near-amount").fill("0.0000001");
    await id("buy").click();
    await id("error-banner").waitFor(WAIT);
    const reason = await text("error-message");
    t.regex(reason, /^The contract refused: Attach at least 1000000000000000000 yoctoNEAR/);
    t.notRegex(reason, /contract\.js|\bat \w+ \(|\n/);
    await shot("08-contract-error");
    await id("error-dismiss").click();
  },
);

test.serial(
  "export, clear the site's data, import: keys and histories are back, and end & refund pays both exactly",
  async (t) => {
    const near = chain();
    await id("export-keys").click();
    await id("backup-dialog").waitFor();
    t.regex(await text("backup-warning"), /Anyone with this file and its passphrase can spend/);
    await id("backup-passphrase").fill(PASSPHRASE);
    await shot("09-export-dialog");
    const download = page.waitForEvent("download");
    await id("backup-confirm").click();
    const file = artifactPath("web4-e2e-start/conversation-keys.json");
    await (await download).saveAs(file);
    const exported = readFileSync(file, "utf8");
    t.false(exported.includes(convs.a.secret) || exported.includes(convs.b.secret), "no key in the clear");

    // What a browser change or "clear site data" does: every key and history gone.
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Storage.clearDataForOrigin", {
      origin: new URL(stack.web4Url).origin,
      storageTypes: "all",
    });
    await page.reload();
    await signIn();
    // The chain still lists both; without their keys they cannot be used here.
    await page.locator('[data-testid="conversation-item"][data-status="no key"]').nth(1).waitFor(WAIT);
    t.is(await page.locator('[data-testid="message-user"]').count(), 0);
    await shot("10-cleared-no-keys");

    const chooser = page.waitForEvent("filechooser");
    await id("import-keys").click();
    await (await chooser).setFiles(file);
    await id("backup-passphrase").fill(PASSPHRASE);
    await id("backup-confirm").click();
    await waitText("status", /^Imported 2 new conversation key\(s\) of 2/);
    await page.locator('[data-testid="conversation-item"][data-status="open"]').nth(1).waitFor(WAIT);
    await select(convs.b.id);
    t.is(
      (await page.getByTestId("message-user").allTextContents())[0],
      "Show me some markdown with code",
      "history came back",
    );
    await shot("11-imported");

    // End & refund each: the proxy signs, the wallet submits; the chain pays deposit − spent.
    let balance = await near.balance(ALICE);
    for (const c of [convs.b, convs.a]) {
      await select(c.id);
      const spent = BigInt((await settled(c.secret)).spent);
      await id("end-refund").click();
      await id("refund-result").waitFor(WAIT);
      const onChain = await near.conversation(c.id);
      t.like(onChain, { status: "refunded", refund_amount: (c.deposit - spent).toString() });
      balance += c.deposit - spent;
      t.is(await near.balance(ALICE), balance, "balance = before + deposit − spent");
      t.regex(
        await text("refund-summary"),
        new RegExp(
          `^Refunded ${fmt(c.deposit - spent).replace(".", "\\.")}; spent ${fmt(spent).replace(".", "\\.")} of ${fmt(c.deposit)}`,
        ),
      );
    }
    const spentA = convs.a.deposit - BigInt((await near.conversation(convs.a.id))!.refund_amount!);
    const spentB = convs.b.deposit - BigInt((await near.conversation(convs.b.id))!.refund_amount!);
    t.is(await near.balance(ALICE), initial - spentA - spentB, "after both: initial − everything spent");
    await waitText("token-balance", fmt(initial - spentA - spentB));
    await shot("12-both-refunded");
  },
);

test.serial(
  "after expiry (localnet fast-forward), reclaim returns a conversation's whole deposit",
  async (t) => {
    const near = chain();
    await open("0.5");
    await id("key-close").click();
    const listed = JSON.parse(
      (await page.evaluate((k) => localStorage.getItem(k), `aiconv:v2:${CONTRACT}:${ALICE}`))!,
    );
    const conversationId = listed[0].conversation_id as string;
    const before = await near.balance(ALICE);
    const view = (await near.conversation(conversationId))!;
    const seconds = (BigInt(view.expires_at) - BigInt(view.created_at)) / 1_000_000_000n + 60n;
    // One block per second on localnet: jump past expires_at.
    const res = await fetch(stack.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "sandbox_fast_forward",
        params: { delta_height: Number(seconds) },
      }),
    });
    t.falsy(((await res.json()) as { error?: unknown }).error);
    await page.reload();
    await waitText("account-id", ALICE);
    await select(conversationId);
    await waitText("conversation-status", "expired");
    await shot("13-expired");
    await id("reclaim").click();
    await waitText("conversation-status", "reclaimed");
    t.is(await near.balance(ALICE), before + AIC / 2n, "the whole deposit is back");
    t.like(await near.conversation(conversationId), { status: "reclaimed" });
    await waitText("token-balance", fmt(before + AIC / 2n));
    await shot("14-reclaimed");
    await page.setViewportSize({ width: 390, height: 844 });
    t.true(
      await page.evaluate(() => document.documentElement.scrollWidth <= 390),
      "no sideways scroll on a phone",
    );
    await shot("15-phone");
  },
);
