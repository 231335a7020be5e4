// Browser e2e of the web4 app against stubs: the built bundle is served the way web4_get serves it
// (asset set from web4/dist/bundle.json, SPA fallback), next to a fake NEAR RPC that really decodes
// and verifies the dev wallet's signed transactions, and a fake OpenAI-compatible proxy that streams.
// Proves the UI flow in Chromium until the full `npm start` stack is wired.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import test from "ava";
import { decodeSignedTransaction, KeyPair, type KeyPairString } from "near-api-js";
import nacl from "tweetnacl";
import { buildWeb4Bundle } from "../web4/bundle.js";
import { artifactPath, launchChromium, requireChromium } from "./helpers/browser.js";

const CONTRACT = "token.test";
const DECIMALS = 6;
const PRICE = 10n ** 16n; // yocto per smallest unit: 1 NEAR buys 100 tokens
const STORAGE_MIN = 1_250_000_000_000_000_000_000n;
const alice = KeyPair.fromRandom("ed25519");
const bob = KeyPair.fromRandom("ed25519");

interface Conv {
  id: string;
  receiver: string;
  amount: bigint;
  spent: bigint;
  status: "open" | "refunded";
  closed: boolean;
  refund?: bigint;
}

/** Just enough of the chain and the proxy for the app; state shared so the proxy can meter escrow. */
class Stubs {
  balances = new Map<string, bigint>(); // registered accounts only
  nonces = new Map<string, number>([
    ["alice.test", 0],
    ["bob.test", 0],
  ]);
  convs = new Map<string, Conv>();
  proxyDown = false;
  chats = 0;
  txs: string[] = [];
  models: string[] = [];

  event(standard: string, event: string, data: unknown) {
    return `EVENT_JSON:${JSON.stringify({ standard, version: "1.0.0", event, data: [data] })}`;
  }

  rpc(method: string, params: Record<string, unknown>): unknown {
    if (method === "query" && params["request_type"] === "call_function") {
      const args = JSON.parse(Buffer.from(String(params["args_base64"]), "base64").toString() || "{}");
      const value = this.view(String(params["method_name"]), args);
      return {
        result: [...Buffer.from(JSON.stringify(value))],
        logs: [],
        block_height: 1,
        block_hash: "11111111111111111111111111111111",
      };
    }
    if (method === "query" && params["request_type"] === "view_access_key") {
      return {
        nonce: this.nonces.get(String(params["account_id"])) ?? 0,
        permission: "FullAccess",
        block_hash: "11111111111111111111111111111111",
        block_height: 1,
      };
    }
    if (method === "query" && params["request_type"] === "view_account")
      return { amount: "100000000000000000000000000" };
    if (method === "send_tx") return this.sendTx(Buffer.from(String(params["signed_tx_base64"]), "base64"));
    throw new Error(`stub rpc: ${method} not supported`);
  }

  view(method: string, args: Record<string, string>): unknown {
    switch (method) {
      case "ft_metadata":
        return { spec: "ft-1.0.0", name: "AI Credits", symbol: "AIC", decimals: DECIMALS };
      case "ft_balance_of":
        return (this.balances.get(args["account_id"]!) ?? 0n).toString();
      case "storage_balance_of":
        return this.balances.has(args["account_id"]!)
          ? { total: STORAGE_MIN.toString(), available: "0" }
          : null;
      case "storage_balance_bounds":
        return { min: STORAGE_MIN.toString(), max: STORAGE_MIN.toString() };
      case "get_config":
        return { token_price: PRICE.toString(), conversation_deposit_max: "2000000000000000000001" };
      case "view_ai_conversation": {
        const c = this.convs.get(args["conversation_id"]!);
        return c
          ? {
              conversation_id: c.id,
              receiver_id: c.receiver,
              deposit: c.amount.toString(),
              created_at: "1",
              expires_at: "2592000000000001",
              status: c.status,
              ...(c.refund !== undefined ? { refund_amount: c.refund.toString() } : {}),
            }
          : null;
      }
    }
    throw new Error(`MethodNotFound ${method}`);
  }

  sendTx(bytes: Buffer) {
    const signed = decodeSignedTransaction(bytes);
    const tx = signed.transaction;
    const key = tx.signerId === "alice.test" ? alice : bob;
    const hash = createHash("sha256").update(tx.encode()).digest();
    if (
      !nacl.sign.detached.verify(
        hash,
        Uint8Array.from(signed.signature.ed25519Signature!.data),
        key.getPublicKey().data,
      )
    ) {
      throw new Error("InvalidSignature");
    }
    if (Number(tx.nonce) <= (this.nonces.get(tx.signerId) ?? 0)) throw new Error("InvalidNonce");
    this.nonces.set(tx.signerId, Number(tx.nonce));
    const call = tx.actions[0]!.functionCall!;
    const args = JSON.parse(Buffer.from(call.args).toString());
    const deposit = BigInt(call.deposit);
    const logs: string[] = [];
    let failure: string | null = null;
    const who = tx.signerId;
    try {
      this.txs.push(call.methodName);
      switch (call.methodName) {
        case "storage_deposit":
          if (deposit < STORAGE_MIN) throw new Error("deposit below storage minimum");
          this.balances.set(args.account_id ?? who, 0n);
          break;
        case "buy_tokens_for_near": {
          if (!this.balances.has(who)) throw new Error(`The account ${who} is not registered`);
          const units = deposit / PRICE;
          this.balances.set(who, this.balances.get(who)! + units);
          logs.push(
            this.event("nep141", "ft_mint", {
              owner_id: who,
              amount: units.toString(),
              memo: "buy_tokens_for_near",
            }),
          );
          break;
        }
        case "start_ai_conversation": {
          const amount = BigInt(args.amount);
          const bal = this.balances.get(who) ?? 0n;
          if (deposit < 1n) throw new Error("Requires attached deposit");
          if (amount > bal) throw new Error("Not enough balance");
          this.balances.set(who, bal - amount);
          this.convs.set(args.conversation_id, {
            id: args.conversation_id,
            receiver: who,
            amount,
            spent: 0n,
            status: "open",
            closed: false,
          });
          logs.push(
            this.event("nep141", "ft_transfer", {
              old_owner_id: who,
              new_owner_id: CONTRACT,
              amount: amount.toString(),
            }),
          );
          logs.push(
            this.event("ai_conversation", "conversation_started", {
              conversation_id: args.conversation_id,
              amount: amount.toString(),
            }),
          );
          break;
        }
        case "refund_unspent": {
          const msg = JSON.parse(args.refund_message);
          if (args.signature !== `sig:${createHash("sha256").update(args.refund_message).digest("hex")}`)
            throw new Error("bad signature");
          const c = this.convs.get(msg.conversation_id)!;
          if (c.status === "refunded") throw new Error("already refunded");
          const refund = BigInt(msg.refund_amount);
          c.status = "refunded";
          c.refund = refund;
          this.balances.set(c.receiver, (this.balances.get(c.receiver) ?? 0n) + refund);
          logs.push(
            this.event("nep141", "ft_transfer", {
              old_owner_id: CONTRACT,
              new_owner_id: c.receiver,
              amount: refund.toString(),
            }),
          );
          logs.push(
            this.event("nep141", "ft_transfer", {
              old_owner_id: CONTRACT,
              new_owner_id: "operator.test",
              amount: (c.amount - refund).toString(),
            }),
          );
          logs.push(
            this.event("ai_conversation", "conversation_refunded", {
              conversation_id: c.id,
              refund_amount: refund.toString(),
            }),
          );
          break;
        }
        default:
          throw new Error(`MethodNotFound ${call.methodName}`);
      }
    } catch (e) {
      failure = `Smart contract panicked: ${(e as Error).message}`;
      logs.length = 0;
    }
    const status = failure
      ? { Failure: { ActionError: { index: 0, kind: { FunctionCallError: { ExecutionError: failure } } } } }
      : { SuccessValue: "" };
    return {
      status,
      transaction: { hash: `tx${this.txs.length}abcdefghij`, signer_id: who, receiver_id: tx.receiverId },
      transaction_outcome: { id: "t", outcome: { logs: [], status: { SuccessReceiptId: "r" } } },
      receipts_outcome: [{ id: "r", outcome: { logs, status, executor_id: CONTRACT } }],
    };
  }

  conv(req: IncomingMessage): Conv | null {
    const secret = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    return secret
      ? (this.convs.get(createHash("sha256").update(secret, "utf8").digest("hex")) ?? null)
      : null;
  }

  async proxy(path: string, req: IncomingMessage, res: ServerResponse, reqBody: string) {
    if (this.proxyDown) {
      res.socket?.destroy(); // as close to "connection refused" as a same-origin stub gets
      return;
    }
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (path === "/v1/models") {
      return json(200, {
        object: "list",
        data: [
          { id: "local-echo", object: "model" },
          { id: "local-big", object: "model" },
        ],
      });
    }
    const c = this.conv(req);
    if (!c) return json(401, { error: { message: "unknown conversation", type: "invalid_request_error" } });
    const usage = () => ({
      deposit: c.amount.toString(),
      reserved: "0",
      spent: c.spent.toString(),
      remaining: (c.amount - c.spent).toString(),
      status: c.closed ? "closed" : "open",
    });
    if (path === "/v1/conversations/current") return json(200, usage());
    if (path === "/v1/conversations/refund") {
      c.closed = true;
      const refund_message = JSON.stringify({
        contract_id: CONTRACT,
        deployment: "0123456789abcdef0123456789abcdef",
        conversation_id: c.id,
        receiver_id: c.receiver,
        deposit: c.amount.toString(),
        created_at: "1",
        refund_amount: (c.amount - c.spent).toString(),
      });
      return json(200, {
        refund_message,
        signature: `sig:${createHash("sha256").update(refund_message).digest("hex")}`,
      });
    }
    if (path === "/v1/chat/completions") {
      if (c.closed) return json(403, { error: { message: "conversation closed" } });
      this.models.push(JSON.parse(reqBody).model);
      this.chats++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      const reply = [
        "## Answer ",
        `${this.chats}\n\n`,
        "Here is **bold**, *emphasis* and `inline code`.\n\n",
        "- one\n- two\n\n",
        "<script>window.__xss = 1</script>",
        '<img src=x onerror="window.__xss = 2">\n\n',
        "[safe link](https://near.org) and [evil](javascript:window.__xss=3)\n\n",
        "```ts\nconst x: bigint = 1n;\n```\n",
      ];
      for (const piece of reply) {
        c.spent += 25_000n;
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
        await new Promise((r) => setTimeout(r, 120));
      }
      res.write(
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 50 } })}\n\n`,
      );
      res.end("data: [DONE]\n\n");
      return;
    }
    json(404, { error: { message: "not found" } });
  }
}

async function body(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const p of req) parts.push(p as Buffer);
  return Buffer.concat(parts).toString();
}

async function startServer(stubs: Stubs, assets: Record<string, { contentType: string; body: string }>) {
  let origin = "";
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    try {
      if (url.pathname === "/config.json") {
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            contract_id: CONTRACT,
            network: "localnet",
            proxy_url: `${origin}/proxy`,
            rpc_url: `${origin}/rpc`,
            dev_accounts: [
              { account_id: "alice.test", secret_key: alice.toString() as KeyPairString },
              { account_id: "bob.test", secret_key: bob.toString() as KeyPairString },
            ],
          }),
        );
      } else if (url.pathname === "/rpc") {
        const { id, method, params } = JSON.parse(await body(req));
        let reply: unknown;
        try {
          reply = { jsonrpc: "2.0", id, result: stubs.rpc(method, params) };
        } catch (e) {
          reply = {
            jsonrpc: "2.0",
            id,
            error: { name: "HANDLER_ERROR", message: "Server error", data: (e as Error).message },
          };
        }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
      } else if (url.pathname.startsWith("/proxy/")) {
        await stubs.proxy(url.pathname.slice("/proxy".length), req, res, await body(req));
      } else {
        // What web4_get does: the asset by path, index.html for "/" and unknown paths.
        const asset = (url.pathname !== "/" && assets[url.pathname]) || assets["/index.html"]!;
        res.writeHead(200, { "content-type": asset.contentType }).end(Buffer.from(asset.body, "base64"));
      }
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, origin };
}

test("web4 app in Chromium: sign in, register, buy, start, chat (safe markdown, live meter), proxy down + retry, end & refund", async (t) => {
  requireChromium();
  const bundle = await buildWeb4Bundle({ network: "localnet", quiet: true });
  const stubs = new Stubs();
  const { server, origin } = await startServer(stubs, bundle.assets);
  const launched = await launchChromium({ viewport: { width: 390, height: 844 } }); // phone-sized
  t.teardown(async () => {
    await launched.close();
    server.close();
  });
  const page = await launched.context.newPage();
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  const id = (testId: string) => page.getByTestId(testId);

  await page.goto(origin);
  await id("sign-in").waitFor();
  t.regex((await id("network").textContent()) ?? "", /localnet · token\.test/);
  await id("dev-account-select").selectOption("alice.test");
  await id("sign-in").click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="account-id"]')?.textContent === "alice.test",
  );

  // Storage registration appears only while needed.
  await id("storage-needed").waitFor();
  t.is(await id("storage-cost").textContent(), "0.00125");
  await page.screenshot({ path: artifactPath("web4-phone-1-register.png"), fullPage: true });
  await id("register").click();
  await id("storage-needed").waitFor({ state: "hidden" });

  await id("buy-near-amount").fill("1");
  await id("buy").click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="token-balance"]')?.textContent === "100 AIC",
  );
  t.regex((await id("status").textContent()) ?? "", /Bought 100 AIC/);
  t.regex((await id("price").textContent()) ?? "", /1 AIC = 0\.01 NEAR/);

  await id("start-amount").fill("10");
  await id("start").click();
  await id("conversation-info").waitFor();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="usage-deposit"]')?.textContent === "10",
  );
  t.is(await id("token-balance").textContent(), "90 AIC");
  // The secret is in localStorage under contract+account, never in the URL.
  const stored = await page.evaluate(() => localStorage.getItem("aiconv:v1:token.test:alice.test"));
  const conv = JSON.parse(stored!);
  t.regex(conv.secret, /^[0-9a-f]{64}$/);
  t.is(conv.conversation_id, createHash("sha256").update(conv.secret, "utf8").digest("hex"));
  t.false(page.url().includes(conv.secret));

  // Chat: streamed, rendered as safe markdown, meter moves while streaming.
  await id("prompt").fill("Hello **there**");
  await id("send").click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="usage-spent"]')?.textContent !== "0",
  );
  const midStream = await id("usage-spent").textContent();
  await page.waitForFunction(() => !document.querySelector('[data-streaming="true"]'));
  await page.waitForFunction(
    () => document.querySelector('[data-testid="usage-spent"]')?.textContent === "0.2",
  );
  t.not(midStream, "0.2", "the meter updated during streaming, not only after");
  t.is(await id("usage-remaining").textContent(), "9.8");
  const reply = page.locator('[data-testid="message-assistant"]').last();
  t.is(await reply.locator("h2").textContent(), "Answer 1");
  t.is(await reply.locator("strong").first().textContent(), "bold");
  t.is(await reply.locator("pre code").textContent(), "const x: bigint = 1n;");
  t.is(await reply.locator("a").count(), 1);
  t.is(await reply.locator("a").getAttribute("href"), "https://near.org");
  t.is(await page.locator(".messages script, .messages img, .messages [onerror]").count(), 0);
  t.true(((await reply.textContent()) ?? "").includes("<script>"), "markup shown as text");
  t.is(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  await page.screenshot({ path: artifactPath("web4-phone-2-chat.png"), fullPage: true });

  // Proxy down: clear error, message kept, retry works.
  stubs.proxyDown = true;
  await id("prompt").fill("Second question");
  await id("send").click();
  await id("error-banner").waitFor();
  t.regex((await id("error-message").textContent()) ?? "", /not reachable/);
  t.is(await id("prompt").inputValue(), "Second question");
  t.is(await page.locator('[data-testid="message-user"]').count(), 1);
  await page.screenshot({ path: artifactPath("web4-phone-3-proxy-down.png"), fullPage: true });
  stubs.proxyDown = false;
  await id("error-retry").click();
  await id("error-banner").waitFor({ state: "hidden" });
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="message-assistant"]').length === 2,
  );
  await page.waitForFunction(() => !document.querySelector('[data-streaming="true"]'));
  t.is(await page.locator('[data-testid="message-user"]').last().textContent(), "Second question");

  // End & refund: two visible steps, result with events, balance back.
  await page.waitForFunction(
    () => document.querySelector('[data-testid="usage-spent"]')?.textContent === "0.4",
  );
  await id("end-refund").click();
  await id("refund-result").waitFor();
  t.is(await id("refund-step-sign").getAttribute("data-state"), "done");
  t.is(await id("refund-step-submit").getAttribute("data-state"), "done");
  t.regex((await id("refund-summary").textContent()) ?? "", /Refunded 9\.6 AIC; spent 0\.4 of 10/);
  const events = await page.getByTestId("event").allTextContents();
  t.is(events.length, 3);
  t.true(events[0]!.includes("nep141 · ft_transfer"));
  t.true(events[2]!.includes("ai_conversation · conversation_refunded"));
  await page.waitForFunction(
    () => document.querySelector('[data-testid="token-balance"]')?.textContent === "99.6 AIC",
  );
  await page.screenshot({ path: artifactPath("web4-phone-4-refunded.png"), fullPage: true });
  t.true(
    await page.evaluate(() => document.documentElement.scrollWidth <= 390),
    "no sideways scrolling on a phone",
  );
  t.deepEqual(stubs.models, ["local-echo", "local-echo"], "the first listed model is the default");
  t.deepEqual(stubs.txs, [
    "storage_deposit",
    "buy_tokens_for_near",
    "start_ai_conversation",
    "refund_unspent",
  ]);

  // Desktop layout for the record.
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.screenshot({ path: artifactPath("web4-desktop-refunded.png"), fullPage: true });
  await id("new-conversation").click();
  await id("start-form").waitFor();
  t.deepEqual(
    consoleErrors.filter((e) => !/ERR_|Failed to load resource|AI proxy/.test(e)),
    [],
  );
});
