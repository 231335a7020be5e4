// Acceptance of the web4 app against the real `npm start` stack: `tsx scripts/start.ts` runs as a child
// process (localnet, token contract, web4 gateway, proxy on the local demo model) and Debian Chromium
// drives the page. Amounts are checked exactly against the chain (near-api-js JsonRpcProvider) and
// against what the page shows. Screenshots: test-artifacts/e2e-start/*.png.
//
// The three tests share one home and run in order: the full flow on a fresh stack; a second start
// on the same home (every deploy step "up to date"), without the proxy (--no-proxy); the app on that
// proxy-less stack (clear error, nothing lost).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { JsonRpcProvider } from "near-api-js";
import type { Page } from "playwright-core";
import { formatAmount } from "#web4/amount";
import type { ConversationView } from "#wire";
import { artifactPath, type LaunchedBrowser, launchChromium, requireChromium } from "./helpers/browser.js";
import { freeStackPorts, type Stack, type StackPorts, startStack, stopAllStacks } from "./helpers/stack.js";

const CONTRACT = "token.test.near";
const ALICE = "alice.test.near";
const BOB = "bob.test.near";
const DECIMALS = 6;
const AIC = 10n ** BigInt(DECIMALS);
const WAIT = { timeout: 45_000 }; // generous: a loaded 2-core machine builds, runs localnet and Chromium

let home = "";
let ports: StackPorts;
let proxyless: Stack | null = null; // started by the rerun test, used by the proxy-down test
const browsers: LaunchedBrowser[] = [];

test.before(async () => {
  home = mkdtempSync(join(tmpdir(), "e2e-start-home-"));
  ports = await freeStackPorts();
});

test.after.always(async () => {
  for (const b of browsers) {
    await b.close();
    assertNoProcessMentions(b.userDataDir, "chromium");
  }
  await stopAllStacks();
  assertNoProcessMentions(home, "npm start / localnet");
  rmSync(home, { recursive: true, force: true });
});

/** Fails if a process still runs with `marker` on its command line (read-only check, kills nothing). */
function assertNoProcessMentions(marker: string, what: string) {
  let pids = "";
  try {
    pids = execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim();
  } catch {
    return; // pgrep exits 1 when nothing matches
  }
  throw new Error(`${what} still running: pids ${pids}`);
}

const fmt = (raw: bigint) => formatAmount(raw, DECIMALS, 6);

function chain(stack: Stack) {
  const provider = new JsonRpcProvider({ url: stack.rpcUrl });
  const view = <T>(method: string, args: Record<string, unknown>) =>
    provider.callFunction({ contractId: CONTRACT, method, args }) as Promise<T>;
  return {
    balance: async (accountId: string) =>
      BigInt(await view<string>("ft_balance_of", { account_id: accountId })),
    conversation: (conversationId: string) =>
      view<ConversationView | null>("view_ai_conversation", { conversation_id: conversationId }),
  };
}

async function openApp(stack: Stack, viewport?: { width: number; height: number }) {
  const browser = await launchChromium(viewport ? { viewport } : {});
  browsers.push(browser);
  const page = await browser.context.newPage();
  page.setDefaultTimeout(WAIT.timeout);
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  await page.goto(stack.web4Url);
  return { page, consoleErrors };
}

/** Waits until the element's trimmed text equals `want` (or matches it). */
async function waitText(page: Page, testId: string, want: string | RegExp) {
  const pattern = typeof want === "string" ? null : [want.source, want.flags];
  await page.waitForFunction(
    ([tid, exact, re]) => {
      const text = document.querySelector(`[data-testid="${tid}"]`)?.textContent?.trim() ?? "";
      return re ? new RegExp(re[0]!, re[1]).test(text) : text === exact;
    },
    [testId, typeof want === "string" ? want : "", pattern] as const,
    WAIT,
  );
}

const text = async (page: Page, testId: string) =>
  ((await page.getByTestId(testId).textContent()) ?? "").trim();
const shot = (page: Page, name: string) =>
  page.screenshot({ path: artifactPath(`e2e-start/${name}.png`), fullPage: true });

async function signIn(page: Page, accountId: string) {
  await page.getByTestId("sign-in").waitFor();
  await page.getByTestId("dev-account-select").selectOption(accountId);
  await page.getByTestId("sign-in").click();
  await waitText(page, "account-id", accountId);
  await waitText(page, "token-balance", / AIC$/);
}

/** The newest conversation the page keeps in localStorage (secret + id), for this contract and account. */
async function storedConversation(page: Page, accountId: string) {
  const raw = await page.evaluate((key) => localStorage.getItem(key), `aiconv:v2:${CONTRACT}:${accountId}`);
  const list = raw ? (JSON.parse(raw) as { secret: string; conversation_id: string; state: string }[]) : [];
  return list[0] ?? null;
}

/** Polls `probe` until it returns a value (not undefined); for state outside the page. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = WAIT.timeout) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Records every distinct (sign/submit) state pair of the two refund steps, so transient ones count. */
async function recordRefundSteps(page: Page) {
  // No named helpers inside: tsx's keepNames would reference a __name the page does not have.
  await page.evaluate(() => {
    const log: string[] = [];
    (window as unknown as { __steps: string[] }).__steps = log;
    const [sign, submit] = ["refund-step-sign", "refund-step-submit"].map(
      (id) => document.querySelector(`[data-testid="${id}"]`)!,
    );
    new MutationObserver(() => {
      const pair = `${sign!.getAttribute("data-state")}/${submit!.getAttribute("data-state")}`;
      if (log.at(-1) !== pair) log.push(pair);
    }).observe(document.querySelector('[data-testid="refund-steps"]')!, { attributes: true, subtree: true });
  });
  return () => page.evaluate(() => (window as unknown as { __steps: string[] }).__steps);
}

test.serial(
  "npm start stack in Chromium: dev wallet, buy, start, streamed chat, spent rises, end & refund to the exact unit",
  async (t) => {
    requireChromium();
    const stack = await startStack({ home, ports });
    t.teardown(() => stack.stop());
    const near = chain(stack);
    const { page, consoleErrors } = await openApp(stack);
    const id = (testId: string) => page.getByTestId(testId);

    // Dev wallet: the accounts npm start funded, served by the localnet gateway.
    await id("sign-in").waitFor();
    t.is(await text(page, "network"), `localnet · ${CONTRACT}`);
    await shot(page, "01-signed-out");
    await signIn(page, ALICE);
    const initial = await near.balance(ALICE);
    t.is(initial, 100n * AIC, "npm start funds alice with 100 AIC");
    t.is(await text(page, "token-balance"), `${fmt(initial)} AIC`);
    t.true(await id("storage-needed").isHidden(), "npm start already registered alice");
    await waitText(page, "price", "1 AIC = 1 NEAR");
    await shot(page, "02-signed-in");

    // Buy 2 AIC for 2 NEAR (price 10^18 yocto per base unit).
    await id("buy-near-amount").fill("2");
    await id("buy").click();
    await waitText(page, "status", /^Bought 2 AIC/);
    const before = await near.balance(ALICE);
    t.is(before, initial + 2n * AIC);
    await waitText(page, "token-balance", `${fmt(before)} AIC`);
    await shot(page, "03-bought");

    // Open a conversation with 5 AIC in escrow.
    await id("start-amount").fill("5");
    await id("start").click();
    await id("key-panel").waitFor(); // shown once on open
    await id("key-close").click();
    await waitText(page, "conversation-status", "open");
    const conv = await storedConversation(page, ALICE);
    t.truthy(conv, "the secret is kept in localStorage");
    const opened = await near.conversation(conv!.conversation_id);
    t.like(opened, { receiver_id: ALICE, deposit: (5n * AIC).toString(), status: "open" });
    t.is(await near.balance(ALICE), before - 5n * AIC);
    await waitText(page, "token-balance", `${fmt(before - 5n * AIC)} AIC`);
    await waitText(page, "usage-deposit", "5 AIC");
    await waitText(page, "usage-spent", "0 AIC"); // nothing spent before the first question
    await shot(page, "04-conversation-open");

    // Ask: the local demo model's answer streams into the page.
    await id("prompt").fill("What does NEAR stand for?");
    await id("send").click();
    const reply = page.locator('[data-testid="message-assistant"]').last();
    await page.waitForFunction(
      () =>
        /you said What does NEAR stand for\?/.test(
          document.querySelector('[data-testid="message-assistant"]')?.textContent ?? "",
        ),
      undefined,
      WAIT,
    );
    await page.waitForFunction(() => !document.querySelector('[data-streaming="true"]'), undefined, WAIT);
    t.regex(
      (await reply.textContent()) ?? "",
      /^Demo reply \(local model, not an AI\): you said What does NEAR/,
    );
    t.is(await text(page, "message-user"), "What does NEAR stand for?");

    // Spent rises: the proxy settled a non-zero usage with nothing reserved; the page shows it.
    const usage = await eventually(async () => {
      const res = await fetch(`${stack.proxyUrl}/v1/conversations/current`, {
        headers: { authorization: `Bearer ${conv!.secret}` },
      });
      const u = (await res.json()) as { spent: string; reserved: string; remaining: string };
      return BigInt(u.spent) > 0n && u.reserved === "0" ? u : undefined;
    }, "the proxy to settle the reply");
    const spent = BigInt(usage.spent);
    await waitText(page, "usage-spent", `${fmt(spent)} AIC`);
    await waitText(page, "usage-remaining", `${fmt(5n * AIC - spent)} AIC`);
    await shot(page, "05-answer-spent");

    // npm start runs the operator's settlement: the conversation says when it would settle by itself,
    // and the operator API (token beside the chain) counts it as unsettled escrow.
    const current = (await (
      await fetch(`${stack.proxyUrl}/v1/conversations/current`, {
        headers: { authorization: `Bearer ${conv!.secret}` },
      })
    ).json()) as { settle_at?: string; settle_reason?: string };
    t.is(current.settle_reason, "idle");
    t.true(BigInt(current.settle_at!) > BigInt(Date.now()) * 1_000_000n);
    await page.waitForFunction(
      () =>
        document
          .querySelector('[data-testid="conversation-note"]')
          ?.textContent?.includes("the proxy settles it around"),
      undefined,
      WAIT,
    );
    const token = readFileSync(join(stack.home, "operator-token"), "utf8").trim();
    const summary = (await (
      await fetch(`${stack.proxyUrl}/v1/operator/summary`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      settlement: { active: boolean; operator_account_id: string };
      unsettled: { spent: string };
    };
    t.like(summary.settlement, { active: true, operator_account_id: "test.near" });
    t.true(BigInt(summary.unsettled.spent) >= spent);

    // End & refund: step 1 (proxy signs) then step 2 (wallet submits refund_unspent), both visible.
    const steps = await recordRefundSteps(page);
    await id("end-refund").click();
    await id("refund-result").waitFor(WAIT);
    t.true(await id("refund-steps").isVisible());
    t.is(await id("refund-step-sign").getAttribute("data-state"), "done");
    t.is(await id("refund-step-submit").getAttribute("data-state"), "done");
    const seen = await steps();
    const order = ["active/idle", "done/active", "done/done"].map((s) => seen.indexOf(s));
    t.true(
      order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)),
      `refund steps went sign → submit → done: ${seen.join(" → ")}`,
    );

    // The chain is the judge: refunded exactly deposit − spent, and the balance is before − spent.
    const refunded = await near.conversation(conv!.conversation_id);
    t.is(refunded?.status, "refunded");
    const refund = BigInt(refunded!.refund_amount!);
    t.is(5n * AIC - refund, spent, "the proxy's metered spend is what the contract kept");
    const after = await near.balance(ALICE);
    t.is(after, before - spent);
    await waitText(page, "token-balance", `${fmt(after)} AIC`);
    t.regex(
      await text(page, "refund-summary"),
      new RegExp(
        `^Refunded ${fmt(refund).replace(".", "\\.")} AIC; spent ${fmt(spent).replace(".", "\\.")} AIC of 5 AIC `,
      ),
    );
    const refundEvent = id("event").filter({ hasText: "ai_conversation · conversation_refunded" });
    const eventData = JSON.parse((await refundEvent.locator("pre").textContent()) ?? "null") as {
      refund_amount: string;
      operator_amount: string;
    }[];
    t.like(eventData[0], { refund_amount: refund.toString(), operator_amount: spent.toString() });
    await shot(page, "06-refunded");

    // The same end state on a phone, for the record.
    await page.setViewportSize({ width: 390, height: 844 });
    t.true(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scroll");
    await shot(page, "07-refunded-phone");
    t.deepEqual(consoleErrors, []);
  },
);

test.serial("a second start on the same home reuses state: every deploy step is up to date", async (t) => {
  requireChromium();
  // --no-proxy changes only step 5; the proxy-down test below uses this stack.
  proxyless = await startStack({ home, ports, args: ["--no-proxy"] });
  const out = proxyless.output();
  const deploy = out.slice(out.indexOf("[4/5] deploying"), out.indexOf("[5/5]"));
  const steps = deploy.split("\n").filter((l) => /^\s+[+=] /.test(l));
  t.log(steps.join("\n"));
  t.deepEqual(
    steps.filter((l) => !/^\s+= /.test(l)),
    [],
    "nothing was created, deployed or changed",
  );
  const upToDate = steps
    .filter((l) => /: up to date$/.test(l))
    .map((l) => l.trim().slice(2, -": up to date".length));
  for (const step of [
    `account ${CONTRACT}`,
    `account ${ALICE}`,
    `account ${BOB}`,
    "contract code",
    "refund signers",
    "token price",
    "web4 config",
    "web4 bundle",
  ]) {
    t.true(upToDate.includes(step), `${step}: up to date`);
  }
  t.notRegex(deploy, /posting web4 chunk/);
  t.regex(out, /not starting the proxy \(--no-proxy\)/);
});

test.serial(
  "proxy down: sending shows a clear error and loses nothing (balance, typed message, open escrow)",
  async (t) => {
    requireChromium();
    const stack = proxyless ?? (await startStack({ home, ports, args: ["--no-proxy"] }));
    t.teardown(() => stack.stop());
    const near = chain(stack);
    const { page } = await openApp(stack, { width: 390, height: 844 }); // phone-sized this time
    const id = (testId: string) => page.getByTestId(testId);

    await signIn(page, BOB);
    const before = await near.balance(BOB);
    await id("start-amount").fill("3");
    await id("start").click(); // opening the escrow needs only the chain and the wallet
    await id("key-panel").waitFor();
    await id("key-close").click();
    await waitText(page, "conversation-status", "open");
    const conv = await storedConversation(page, BOB);
    const escrowed = before - 3n * AIC;
    t.is(await near.balance(BOB), escrowed);

    const question = "Is anybody out there?";
    await id("prompt").fill(question);
    await id("send").click();
    await id("error-banner").waitFor(WAIT);
    t.regex(await text(page, "error-message"), /AI proxy is not reachable .*Your message was kept/);
    t.true(await id("error-retry").isVisible(), "a retry is offered");
    t.is(await id("prompt").inputValue(), question, "the typed message is back in the box");
    t.is(await page.locator('[data-testid="message-user"]').count(), 0);
    await shot(page, "08-proxy-down-send");

    // Ending needs the proxy's signature too: a clear error at step 1, and the escrow stays put.
    await id("end-refund").click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="refund-step-sign"]')?.getAttribute("data-state") === "error",
      undefined,
      WAIT,
    );
    t.regex(await text(page, "error-message"), /AI proxy is not reachable .*tokens stay in escrow/);
    await shot(page, "09-proxy-down-refund");

    t.like(await near.conversation(conv!.conversation_id), { receiver_id: BOB, status: "open" });
    t.is(await near.balance(BOB), escrowed, "no token moved");
    t.is(await text(page, "token-balance"), `${fmt(escrowed)} AIC`);
    const kept = await storedConversation(page, BOB);
    t.is(kept?.secret, conv!.secret, "the secret that can still end the conversation is kept");
  },
);
