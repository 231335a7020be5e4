// Browser e2e of the web4 app against stubs, no network: the built bundle is served the way web4_get
// serves it (asset set, SPA fallback), next to a fake NEAR RPC and a fake OpenAI-compatible proxy
// that reserves, streams and settles like the real one (same 402 wording). Two wallets:
// - localnet: the dev wallet, whose signed transactions the stub decodes and verifies (nacl);
// - testnet: NEAR Connect (@hot-labs/near-connect) with a stub wallet from a local manifest, run by
//   the connector in its sandboxed iframe (the approvals are clicked inside that iframe).
// The full `npm start` stack is exercised by test/e2e-start.test.ts.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import test from "ava";
import { decodeSignedTransaction, KeyPair, type KeyPairString } from "near-api-js";
import type { Page } from "playwright-core";
import nacl from "tweetnacl";
import { type AssetSet, buildWeb4Bundle } from "#web4/bundle";
import { artifactPath, launchChromium, requireChromium } from "./helpers/browser.js";

const CONTRACT = "token.test";
const DECIMALS = 6;
const PRICE = 10n ** 16n; // yocto per smallest unit: 1 NEAR buys 100 tokens
const STORAGE_MIN = 1_250_000_000_000_000_000_000n;
const PRICING = { input: "1000000", output: "2000000" }; // 1 unit per prompt token, 2 per output token
const PROMPT_TOKENS = 10n;
const COMPLETION_TOKENS = 50n;
const ANSWER_COST = PROMPT_TOKENS * 1n + COMPLETION_TOKENS * 2n; // 110 units = 0.00011 AIC
const DEFAULT_MAX_TOKENS = 100n;
const alice = KeyPair.fromRandom("ed25519");
const bob = KeyPair.fromRandom("ed25519");

interface Conv {
  id: string;
  receiver: string;
  amount: bigint;
  spent: bigint;
  reserved: bigint;
  status: "open" | "expired" | "refunded" | "reclaimed";
  closed: boolean;
  refund?: bigint;
}
interface Call {
  methodName: string;
  args: Record<string, string>;
  deposit: bigint;
}

const event = (standard: string, name: string, data: unknown) =>
  `EVENT_JSON:${JSON.stringify({ standard, version: "1.0.0", event: name, data: [data] })}`;
/** How localnet's QuickJS reports a panic: the reason, then the JS stack. */
const panic = (reason: string) =>
  `${reason}\n    at fail (contract.js:3368:18)\n    at need (contract.js:3372:5)\n    at ${"main"} (contract.js:4100:3)\n`;

/** Just enough of the chain and the proxy for the app; state shared so the proxy can meter escrow. */
class Stubs {
  balances = new Map<string, bigint>(); // registered accounts only
  nonces = new Map<string, number>();
  convs = new Map<string, Conv>();
  proxyDown = false;
  /** Pause between streamed pieces (ms). */
  pieceDelay = 90;
  txs: string[] = [];
  models: string[] = [];
  maxTokens: (number | undefined)[] = [];
  answers = 0;

  rpc(method: string, params: Record<string, unknown>): unknown {
    if (method === "query" && params["request_type"] === "call_function") {
      const args = JSON.parse(Buffer.from(String(params["args_base64"]), "base64").toString() || "{}");
      const value = this.view(String(params["method_name"]), args);
      return {
        result: [...Buffer.from(JSON.stringify(value))],
        logs: [],
        block_height: 1,
        block_hash: "1".repeat(32),
      };
    }
    if (method === "query" && params["request_type"] === "view_access_key") {
      const nonce = this.nonces.get(String(params["account_id"])) ?? 0;
      return { nonce, permission: "FullAccess", block_hash: "1".repeat(32), block_height: 1 };
    }
    if (method === "query" && params["request_type"] === "view_account")
      return { amount: (100n * 10n ** 24n).toString() };
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
        return c ? this.viewOf(c) : null;
      }
      case "list_ai_conversations": {
        const mine = [...this.convs.values()].filter((c) => c.receiver === args["account_id"]);
        const conversations = mine.map((c, index) => ({ index, ...this.viewOf(c) })).reverse();
        return { account_id: args["account_id"], total: mine.length, conversations, next: null };
      }
    }
    throw new Error(`MethodNotFound ${method}`);
  }

  /** Opened order stands in for chain time (ns); expiry 30 days later. */
  created = new Map<string, bigint>();
  viewOf(c: Conv) {
    const created = this.created.get(c.id) ?? 1n;
    const refund = c.refund !== undefined ? { refund_amount: c.refund.toString() } : {};
    return {
      conversation_id: c.id,
      receiver_id: c.receiver,
      deposit: c.amount.toString(),
      created_at: created.toString(),
      expires_at: (created + 30n * 86_400n * 10n ** 9n).toString(),
      status: c.status,
      ...refund,
    };
  }

  /** An escrow the account opened elsewhere (another browser): on chain, its key not in this page. */
  openElsewhere(who: string, amount: bigint): string {
    const id = createHash("sha256").update(`elsewhere ${this.convs.size}`).digest("hex");
    this.balances.set(who, this.balances.get(who)! - amount);
    this.convs.set(id, { id, receiver: who, amount, spent: 0n, reserved: 0n, status: "open", closed: false });
    this.created.set(id, BigInt(Date.now() - 60_000) * 1_000_000n);
    return id;
  }

  /** The dev wallet's path: a real signed transaction, verified before it is applied. */
  sendTx(bytes: Buffer) {
    const signed = decodeSignedTransaction(bytes);
    const tx = signed.transaction;
    const key = tx.signerId === "alice.test" ? alice : bob;
    const hash = createHash("sha256").update(tx.encode()).digest();
    const sig = Uint8Array.from(signed.signature.ed25519Signature!.data);
    if (!nacl.sign.detached.verify(hash, sig, key.getPublicKey().data)) throw new Error("InvalidSignature");
    if (Number(tx.nonce) <= (this.nonces.get(tx.signerId) ?? 0)) throw new Error("InvalidNonce");
    this.nonces.set(tx.signerId, Number(tx.nonce));
    const fc = tx.actions[0]!.functionCall!;
    const call = {
      methodName: fc.methodName,
      args: JSON.parse(Buffer.from(fc.args).toString()),
      deposit: BigInt(fc.deposit),
    };
    return this.execute(tx.signerId, tx.receiverId, call);
  }

  /** Applies one function call and returns a FinalExecutionOutcome as nearcore shapes it. */
  execute(who: string, receiverId: string, call: Call) {
    const { args, deposit } = call;
    const logs: string[] = [];
    let failure: string | null = null;
    this.txs.push(call.methodName);
    try {
      switch (call.methodName) {
        case "storage_deposit":
          if (deposit < STORAGE_MIN) throw new Error("deposit below storage minimum");
          this.balances.set(args["account_id"] ?? who, 0n);
          break;
        case "buy_tokens_for_near": {
          if (!this.balances.has(who)) throw new Error(`The account ${who} is not registered`);
          const units = deposit / PRICE;
          if (units === 0n)
            throw new Error(panic(`Attach at least ${PRICE} yoctoNEAR (the price of one token unit)`));
          this.balances.set(who, this.balances.get(who)! + units);
          logs.push(
            event("nep141", "ft_mint", {
              owner_id: who,
              amount: units.toString(),
              memo: "buy_tokens_for_near",
            }),
          );
          break;
        }
        case "start_ai_conversation": {
          const amount = BigInt(args["amount"]!);
          const bal = this.balances.get(who) ?? 0n;
          if (amount > bal) throw new Error(panic("The account doesn't have enough balance"));
          this.balances.set(who, bal - amount);
          const id = args["conversation_id"]!;
          this.convs.set(id, {
            id,
            receiver: who,
            amount,
            spent: 0n,
            reserved: 0n,
            status: "open",
            closed: false,
          });
          this.created.set(id, BigInt(Date.now()) * 1_000_000n);
          logs.push(
            event("nep141", "ft_transfer", {
              old_owner_id: who,
              new_owner_id: CONTRACT,
              amount: amount.toString(),
            }),
          );
          logs.push(
            event("ai_conversation", "conversation_started", {
              conversation_id: id,
              amount: amount.toString(),
            }),
          );
          break;
        }
        case "reclaim_expired_conversation": {
          const c = this.convs.get(args["conversation_id"]!)!;
          if (c.status !== "expired") throw new Error(panic(`conversation ${c.id} has not expired`));
          Object.assign(c, { status: "reclaimed", refund: c.amount });
          this.balances.set(c.receiver, this.balances.get(c.receiver)! + c.amount);
          logs.push(
            event("ai_conversation", "conversation_reclaimed", {
              conversation_id: c.id,
              amount: c.amount.toString(),
            }),
          );
          break;
        }
        case "refund_unspent": {
          const msg = JSON.parse(args["refund_message"]!);
          if (
            args["signature"] !== `sig:${createHash("sha256").update(args["refund_message"]!).digest("hex")}`
          )
            throw new Error("bad signature");
          const c = this.convs.get(msg.conversation_id)!;
          if (c.status === "refunded") throw new Error("already refunded");
          const refund = BigInt(msg.refund_amount);
          Object.assign(c, { status: "refunded", refund });
          this.balances.set(c.receiver, (this.balances.get(c.receiver) ?? 0n) + refund);
          logs.push(
            event("nep141", "ft_transfer", {
              old_owner_id: CONTRACT,
              new_owner_id: c.receiver,
              amount: refund.toString(),
            }),
          );
          logs.push(
            event("nep141", "ft_transfer", {
              old_owner_id: CONTRACT,
              new_owner_id: "operator.test",
              amount: (c.amount - refund).toString(),
            }),
          );
          logs.push(
            event("ai_conversation", "conversation_refunded", {
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
      transaction: { hash: `tx${this.txs.length}abcdefghij`, signer_id: who, receiver_id: receiverId },
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
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (path === "/v1/models") {
      return json(200, {
        object: "list",
        data: [
          { id: "local-echo", object: "model", pricing: PRICING },
          { id: "local-big", object: "model", pricing: PRICING },
        ],
      });
    }
    const c = this.conv(req);
    if (!c) return json(401, { error: { message: "unknown conversation", type: "invalid_request_error" } });
    const remaining = () => c.amount - c.spent - c.reserved;
    if (path === "/v1/conversations/current") {
      return json(200, {
        deposit: c.amount.toString(),
        reserved: c.reserved.toString(),
        spent: c.spent.toString(),
        remaining: remaining().toString(),
        status: c.closed ? "closed" : "open",
        // The operator's settlement, as the proxy reports it: a day from now if left unused.
        ...(c.closed
          ? {}
          : { settle_at: (BigInt(Date.now() + 86_400_000) * 1_000_000n).toString(), settle_reason: "idle" }),
      });
    }
    if (path === "/v1/conversations/refund") {
      c.closed = true;
      const refund_message = JSON.stringify({
        contract_id: CONTRACT,
        deployment: "0123456789abcdef0123456789abcdef",
        conversation_id: c.id,
        receiver_id: c.receiver,
        deposit: c.amount.toString(),
        created_at: (this.created.get(c.id) ?? 1n).toString(),
        refund_amount: (c.amount - c.spent).toString(),
      });
      return json(200, {
        refund_message,
        signature: `sig:${createHash("sha256").update(refund_message).digest("hex")}`,
      });
    }
    if (path === "/v1/chat/completions") {
      if (c.closed)
        return json(403, { error: { message: "conversation closed", code: "conversation_closed" } });
      const body = JSON.parse(reqBody);
      this.models.push(body.model);
      this.maxTokens.push(body.max_tokens);
      // Reserve like the proxy: prompt + max output tokens, priced; 402 in its words when short.
      const reservation = PROMPT_TOKENS + 2n * BigInt(body.max_tokens ?? DEFAULT_MAX_TOKENS);
      if (reservation > remaining()) {
        return json(402, {
          error: {
            message: `insufficient conversation balance: this request may cost up to ${reservation} token units, ${remaining()} available (lower max_tokens or open a new conversation)`,
            type: "insufficient_quota",
            code: "insufficient_quota",
          },
        });
      }
      c.reserved += reservation;
      res.writeHead(200, { "content-type": "text/event-stream" });
      const n = ++this.answers;
      const reply = [
        "## Answer ",
        `${n}\n\n`,
        "Here is **bold**, *emphasis* and `inline code`.\n\n",
        "| model | price |\n|:--|--:|\n| local-echo | 1 |\n\n",
        "<script>window.__xss = 1</script>",
        '<img src=x onerror="window.__xss = 2">\n\n',
        "[safe link](https://near.org) and [evil](javascript:window.__xss=3)\n\n",
        "```ts\nconst x: bigint = 1n;\n```\n",
      ];
      // Like the proxy: keep reading "upstream" to the end even if the client went away (T10).
      for (const piece of reply) {
        if (!res.destroyed)
          res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
        await new Promise((r) => setTimeout(r, this.pieceDelay));
      }
      c.reserved -= reservation;
      c.spent += ANSWER_COST;
      if (!res.destroyed) {
        res.write(
          `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: Number(PROMPT_TOKENS), completion_tokens: Number(COMPLETION_TOKENS) } })}\n\n`,
        );
        res.end("data: [DONE]\n\n");
      }
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

/** The NEAR Connect stub wallet: runs in the connector's sandboxed iframe, asks before each action. */
function stubWalletScript(origin: string): string {
  return `
class StubWallet {
  async signIn() {
    await window.selector.ui.whenApprove({ title: "Connect alice.testnet to this app?", button: "Connect" });
    await window.selector.storage.set("account", "alice.testnet");
    return [{ accountId: "alice.testnet", publicKey: "ed25519:11111111111111111111111111111111" }];
  }
  async getAccounts() {
    const id = await window.selector.storage.get("account");
    return id ? [{ accountId: id }] : [];
  }
  async signOut() { await window.selector.storage.remove("account"); }
  async signAndSendTransaction(params) {
    const what = params.actions.map((a) => a.params.methodName).join(", ");
    await window.selector.ui.whenApprove({ title: "Approve " + what + " on " + params.receiverId + "?", button: "Approve" });
    const signerId = await window.selector.storage.get("account");
    const res = await fetch(${JSON.stringify(`${origin}/stub-wallet/send`)}, {
      method: "POST",
      body: JSON.stringify({ signerId, receiverId: params.receiverId, actions: params.actions }),
    });
    if (!res.ok) throw new Error(await res.text());
    return await res.json();
  }
}
window.selector.ready(new StubWallet());
`;
}

function walletManifest(origin: string) {
  return {
    version: "1.0.0",
    wallets: [
      {
        id: "stub-wallet",
        name: "Stub Wallet",
        icon: `${origin}/stub-wallet/icon.svg`,
        description: "A test wallet that signs nothing",
        website: "https://stub-wallet.example",
        version: "1.0.0",
        executor: `${origin}/stub-wallet/executor.js`,
        type: "sandbox",
        platform: [],
        features: { signAndSendTransaction: true, signInWithoutAddKey: true, testnet: true, mainnet: true },
        permissions: { storage: true },
      },
    ],
  };
}

async function startServer(stubs: Stubs, assets: AssetSet, network: "localnet" | "testnet") {
  let origin = "";
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    try {
      if (url.pathname === "/config.json") {
        const config = {
          contract_id: CONTRACT,
          network,
          proxy_url: `${origin}/proxy`,
          rpc_url: `${origin}/rpc`,
        };
        const extra =
          network === "localnet"
            ? {
                dev_accounts: [alice, bob].map((k, i) => ({
                  account_id: i ? "bob.test" : "alice.test",
                  secret_key: k.toString() as KeyPairString,
                })),
              }
            : { wallet_manifest: `${origin}/stub-wallet/manifest.json` };
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ ...config, ...extra }));
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
      } else if (url.pathname === "/stub-wallet/manifest.json") {
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(walletManifest(origin)));
      } else if (url.pathname === "/stub-wallet/executor.js") {
        res.writeHead(200, { "content-type": "application/javascript" }).end(stubWalletScript(origin));
      } else if (url.pathname === "/stub-wallet/icon.svg") {
        res
          .writeHead(200, { "content-type": "image/svg+xml" })
          .end(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1" fill="#5a5"/></svg>',
          );
      } else if (url.pathname === "/stub-wallet/send") {
        // From the wallet's sandboxed iframe: an opaque origin, so CORS must allow it.
        const { signerId, receiverId, actions } = JSON.parse(await body(req));
        const p = actions[0].params;
        const outcome = stubs.execute(signerId, receiverId, {
          methodName: p.methodName,
          args: p.args,
          deposit: BigInt(p.deposit),
        });
        res
          .writeHead(200, { "content-type": "application/json", "access-control-allow-origin": "*" })
          .end(JSON.stringify(outcome));
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

const waitText = (page: Page, testId: string, want: string | RegExp) =>
  page.waitForFunction(
    ([tid, src, flags]) =>
      new RegExp(src!, flags).test(
        document.querySelector(`[data-testid="${tid}"]`)?.textContent?.trim() ?? "",
      ),
    [
      testId,
      typeof want === "string" ? `^${want.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$` : want.source,
      typeof want === "string" ? "" : want.flags,
    ] as const,
  );
const noStreaming = (page: Page) =>
  page.waitForFunction(() => !document.querySelector('[data-streaming="true"]'));

async function openPage(network: "localnet" | "testnet", viewport = { width: 390, height: 844 }) {
  const bundle = await buildWeb4Bundle({
    network,
    quiet: true,
    outFile: artifactPath(`web4-stub/bundle-${network}.json`),
  });
  const stubs = new Stubs();
  const { server, origin } = await startServer(stubs, bundle.assets, network);
  const launched = await launchChromium({ viewport });
  await launched.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  const page = await launched.context.newPage();
  page.setDefaultTimeout(20_000);
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  const close = async () => {
    // The page as the test left it (the last step, or where a failure stopped it).
    await page
      .screenshot({ path: artifactPath(`web4-stub/last-${network}.png`), fullPage: true })
      .catch(() => {});
    await launched.close();
    server.close();
  };
  return { stubs, page, origin, consoleErrors, close, id: (testId: string) => page.getByTestId(testId) };
}

test("localnet app in Chromium: dev wallet, open with key panel, chat (safe markdown, tables, costs, reserved), 402 explained, reload mid-stream, proxy down, contract error, end & refund", async (t) => {
  requireChromium();
  const { stubs, page, origin, consoleErrors, close, id } = await openPage("localnet");
  t.teardown(close);
  const shot = (name: string) =>
    page.screenshot({ path: artifactPath(`web4-stub/${name}.png`), fullPage: true });

  await page.goto(origin);
  await id("sign-in").waitFor();
  t.regex((await id("network").textContent()) ?? "", /localnet · token\.test/);
  await id("dev-account-select").selectOption("alice.test");
  await id("sign-in").click();
  await waitText(page, "account-id", "alice.test");

  // Storage registration appears only while needed.
  await id("storage-needed").waitFor();
  t.is(await id("storage-cost").textContent(), "0.00125");
  await shot("1-register");
  await id("register").click();
  await id("storage-needed").waitFor({ state: "hidden" });

  // A contract error shows its reason, not QuickJS's stack trace.
  await id("buy-near-amount").fill("0.000000001");
  await id("buy").click();
  await id("error-banner").waitFor();
  const reason = (await id("error-message").textContent()) ?? "";
  t.is(reason, `The contract refused: Attach at least ${PRICE} yoctoNEAR (the price of one token unit)`);
  t.notRegex(reason, /contract\.js|\bat fail\b/);
  await shot("2-contract-error");

  await id("buy-near-amount").fill("1");
  await id("buy").click();
  await waitText(page, "token-balance", "100 AIC");
  t.regex((await id("status").textContent()) ?? "", /Bought 100 AIC/);
  t.is(await id("price").textContent(), "1 AIC = 0.01 NEAR");

  // Opening shows the key panel once: key, base URL, snippets, copy buttons.
  await id("start-amount").fill("10");
  await id("start").click();
  await id("key-panel").waitFor();
  const stored = JSON.parse(
    (await page.evaluate(() => localStorage.getItem("aiconv:v2:token.test:alice.test")))!,
  );
  const secret = stored[0].secret as string;
  t.is(stored[0].conversation_id, createHash("sha256").update(secret, "utf8").digest("hex"));
  t.is(await id("key-value").textContent(), secret);
  t.is(await id("key-base-url").textContent(), `${origin}/proxy/v1`);
  t.regex(
    (await id("snippet-code").textContent()) ?? "",
    /new OpenAI\(\{\n {2}apiKey: "[0-9a-f]{64}",\n {2}baseURL: "http/,
  );
  await page.locator('[data-copy="key-value"]').click();
  t.is(
    await page.evaluate(() => navigator.clipboard.readText()),
    secret,
    "Copy puts the key on the clipboard",
  );
  await id("snippet-tab-curl").click();
  t.regex((await id("snippet-code").textContent()) ?? "", /^curl http.*\/proxy\/v1\/chat\/completions/);
  t.false(page.url().includes(secret), "the key never goes into the URL");
  await shot("3-key-panel");
  await id("key-close").click();
  await waitText(page, "usage-deposit", "10 AIC");
  t.is(await id("token-balance").textContent(), "90 AIC");
  t.is(await page.getByTestId("conversation-item").count(), 1);

  // Chat: streamed safe markdown, reserved shown while it streams, the cost under the answer.
  await id("prompt").fill("Hello **there**");
  stubs.pieceDelay = 250; // long enough to watch the meter mid-stream
  await id("send").click();
  await id("usage-reserved-line").waitFor();
  t.is(
    await id("usage-reserved").textContent(),
    `${formatUnits(PROMPT_TOKENS + 2n * DEFAULT_MAX_TOKENS)} AIC`,
  );
  await shot("4-streaming-reserved");
  await noStreaming(page);
  stubs.pieceDelay = 90;
  const reply = page.locator('[data-testid="message-assistant"]').last();
  await reply.getByTestId("message-cost").waitFor();
  t.is(await reply.getByTestId("message-cost").textContent(), "0.00011 AIC");
  await waitText(page, "usage-spent", "0.00011 AIC");
  await id("usage-reserved-line").waitFor({ state: "hidden" });
  t.is(await id("usage-remaining").textContent(), "9.99989 AIC");
  t.is(await reply.locator("h2").textContent(), "Answer 1");
  t.is(await reply.locator("strong").first().textContent(), "bold");
  t.deepEqual(await reply.locator("table th").allTextContents(), ["model", "price"]);
  t.is(await reply.locator("table td").nth(1).getAttribute("data-align"), "right");
  t.is(await reply.locator("pre code").textContent(), "const x: bigint = 1n;");
  t.is(await reply.locator("a").count(), 1);
  t.is(await reply.locator("a").getAttribute("href"), "https://near.org");
  t.is(await page.locator(".messages script, .messages img, .messages [onerror]").count(), 0);
  t.true(((await reply.textContent()) ?? "").includes("<script>"), "markup shown as text");
  t.is(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  await reply.locator('pre [data-action="copy-code"]').click();
  t.is(await page.evaluate(() => navigator.clipboard.readText()), "const x: bigint = 1n;");
  t.is(await id("conversation-title").textContent(), "Hello **there**");
  t.regex(
    (await id("conversation-note").textContent()) ?? "",
    /^Expires .*\. If left unused, the proxy settles it around .* and returns what is left\./,
    "when the operator's settlement will end it",
  );
  await shot("5-answer-cost");

  // Regenerate the last answer: one answer still, asked again and billed again.
  await reply.getByTestId("regenerate").click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="message-assistant"] h2')?.textContent === "Answer 2",
  );
  await noStreaming(page);
  t.is(await page.locator('[data-testid="message-assistant"]').count(), 1);
  await waitText(page, "usage-spent", "0.00022 AIC");

  // 402, explained in the meter's units, with the options that exist.
  await id("max-tokens").fill("10000000");
  await id("max-tokens").dispatchEvent("change");
  await id("prompt").fill("A very long answer please");
  await id("send").click();
  await id("error-banner").waitFor();
  const remaining = 10_000_000n - 2n * ANSWER_COST;
  const needed = PROMPT_TOKENS + 2n * 10_000_000n;
  t.is(await id("usage-remaining").textContent(), `${formatUnits(remaining)} AIC`);
  t.is(
    await id("error-message").textContent(),
    `Not enough left for this answer: it could cost up to ${formatUnits(needed)} AIC with max tokens 10000000 (the question resends the conversation so far), and ${formatUnits(remaining)} AIC is left in this conversation. Your message was kept.`,
  );
  t.is(await id("prompt").inputValue(), "A very long answer please");
  const fits = (remaining * 1_000_000n - (needed * 1_000_000n - 10_000_000n * 2_000_000n)) / 2_000_000n;
  t.is(await id("quota-shorter").textContent(), `Shorter answer (max ${fits} tokens)`);
  t.true(await id("quota-new").isVisible());
  t.true(await id("quota-end").isVisible());
  await shot("6-quota-402");
  await id("quota-shorter").click();
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="message-assistant"]').length === 2,
  );
  await noStreaming(page);
  t.deepEqual(
    stubs.maxTokens.slice(-2),
    [10_000_000, Number(fits)],
    "the retry asked for the shorter answer",
  );
  t.is(await id("max-tokens").inputValue(), String(fits));
  await id("max-tokens").fill("");
  await id("max-tokens").dispatchEvent("change");

  // Opened from another browser: the chain lists it, the next load shows it (no key here).
  const elsewhere = stubs.openElsewhere("alice.test", 3_000_000n);

  // Reload mid-stream: the question and the partial answer are kept, marked interrupted, and billed.
  stubs.pieceDelay = 250;
  await id("prompt").fill("Interrupt me");
  await id("send").click();
  await page.waitForFunction(() =>
    /Answer 4/.test(document.querySelector('[data-streaming="true"]')?.textContent ?? ""),
  );
  await page.waitForTimeout(300); // let the page save what it has (every 400 ms)
  await page.reload();
  const cut = page.locator('[data-testid="message-assistant"]').last();
  await cut.getByTestId("message-note").waitFor();
  t.regex((await cut.getByTestId("message-note").textContent()) ?? "", /^Interrupted/);
  t.regex((await cut.textContent()) ?? "", /Answer 4/);
  t.is(await page.locator('[data-testid="message-user"]').last().textContent(), "Interrupt me");
  await page.waitForFunction(
    () =>
      /^billed \d/.test(
        Array.from(document.querySelectorAll('[data-testid="message-cost"]')).at(-1)?.textContent ?? "",
      ),
    undefined,
    { timeout: 20_000 },
  );
  t.is(
    await cut.getByTestId("message-cost").textContent(),
    "billed 0.00011 AIC",
    "what the proxy settled after the page went away",
  );
  await waitText(page, "usage-spent", `${formatUnits(4n * ANSWER_COST)} AIC`);
  t.deepEqual(
    await page
      .getByTestId("conversation-item")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-status"))),
    ["open", "no key"],
  );
  await shot("7-interrupted");
  stubs.pieceDelay = 90;

  // Proxy down: clear error, message kept, retry works.
  stubs.proxyDown = true;
  await id("prompt").fill("Second question");
  await id("send").click();
  await id("error-banner").waitFor();
  t.regex(
    (await id("error-message").textContent()) ?? "",
    /AI proxy is not reachable .*Your message was kept/,
  );
  t.is(await id("prompt").inputValue(), "Second question");
  await shot("8-proxy-down");
  stubs.proxyDown = false;
  await id("error-retry").click();
  await id("error-banner").waitFor({ state: "hidden" });
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="message-assistant"]').length === 4,
  );
  await noStreaming(page);
  t.is(await page.locator('[data-testid="message-user"]').last().textContent(), "Second question");

  // End & refund: two visible steps, result with events, balance back.
  const spent = 5n * ANSWER_COST;
  await waitText(page, "usage-spent", `${formatUnits(spent)} AIC`);
  await id("end-refund").click();
  await id("refund-result").waitFor();
  t.is(await id("refund-step-sign").getAttribute("data-state"), "done");
  t.is(await id("refund-step-submit").getAttribute("data-state"), "done");
  t.regex(
    (await id("refund-summary").textContent()) ?? "",
    new RegExp(
      `^Refunded ${formatUnits(10_000_000n - spent)} AIC; spent ${formatUnits(spent)} AIC of 10 AIC`,
    ),
  );
  const events = await page.getByTestId("event").allTextContents();
  t.is(events.length, 3);
  t.true(events[2]!.includes("ai_conversation · conversation_refunded"));
  await waitText(page, "token-balance", `${formatUnits(97_000_000n - spent)} AIC`);
  t.is(await page.locator('[data-testid="conversation-item"][data-status="refunded"]').count(), 1);
  await shot("9-refunded");

  // The other one expires: reclaim returns its whole deposit, no key and no proxy needed.
  stubs.convs.get(elsewhere)!.status = "expired";
  await page.reload();
  await page
    .locator(`[data-testid="conversation-item"][data-id="${elsewhere}"][data-status="expired"]`)
    .click();
  await waitText(page, "conversation-status", "expired");
  t.regex(
    (await id("conversation-note").textContent()) ?? "",
    /^Expired .*: reclaim returns the whole deposit/,
  );
  t.true(await id("end-refund").isHidden(), "no key here: no refund to ask for");
  await id("reclaim").click();
  await waitText(page, "conversation-status", "reclaimed");
  await waitText(page, "token-balance", `${formatUnits(100_000_000n - spent)} AIC`);
  t.is(stubs.convs.get(elsewhere)!.status, "reclaimed");
  await shot("9b-reclaimed");
  t.true(
    await page.evaluate(() => document.documentElement.scrollWidth <= 390),
    "no sideways scrolling on a phone",
  );
  t.deepEqual(new Set(stubs.models), new Set(["local-echo"]), "the first listed model is the default");
  t.deepEqual(stubs.txs, [
    "storage_deposit",
    "buy_tokens_for_near",
    "buy_tokens_for_near",
    "start_ai_conversation",
    "refund_unspent",
    "reclaim_expired_conversation",
  ]);

  await page.setViewportSize({ width: 1280, height: 860 });
  await shot("10-desktop-refunded");
  t.deepEqual(
    consoleErrors.filter(
      (e) => !/ERR_|Failed to load resource|AI proxy|insufficient|Attach at least|Not enough left/.test(e),
    ),
    [],
  );
});

test("testnet app in Chromium: NEAR Connect runs a stub wallet in its sandboxed iframe (sign in, register, buy, open, chat, end & refund), and the page's nonce policy blocks injected scripts", async (t) => {
  requireChromium();
  const { stubs, page, origin, consoleErrors, close, id } = await openPage("testnet", {
    width: 1280,
    height: 860,
  });
  t.teardown(close);
  const shot = (name: string) =>
    page.screenshot({ path: artifactPath(`web4-stub/connector-${name}.png`), fullPage: true });
  /** Clicks the wallet's approval prompt, inside one of the connector's sandboxed iframes. */
  const approve = async (button: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        const b = frame.getByRole("button", { name: button });
        if (await b.isVisible().catch(() => false)) {
          // A DOM click: the popup slides in, and a coordinate click can land where it was.
          await b.dispatchEvent("click");
          return;
        }
      }
      if (Date.now() > deadline) throw new Error(`no wallet prompt with a ${button} button`);
      await page.waitForTimeout(100);
    }
  };

  await page.goto(origin);
  await id("sign-in").waitFor();
  t.regex((await id("network").textContent()) ?? "", /testnet · token\.test/);
  await id("sign-in").click();
  // The connector's wallet list, from our manifest: pick the stub wallet.
  await page.locator('.hot-connector-popup .connect-item[data-type="stub-wallet"]').click();
  await shot("1-approve-connect");
  await approve("Connect");
  await waitText(page, "account-id", "alice.testnet");
  const sandbox = await page
    .locator(".hot-connector-popup iframe")
    .first()
    .getAttribute("sandbox")
    .catch(() => null);
  t.true(sandbox === null || sandbox === "allow-scripts", "wallet iframes are sandboxed (scripts only)");

  await id("register").click();
  await approve("Approve");
  await id("storage-needed").waitFor({ state: "hidden" });
  await id("buy-near-amount").fill("1");
  await id("buy").click();
  await approve("Approve");
  await waitText(page, "token-balance", "100 AIC");

  await id("start-amount").fill("5");
  await id("start").click();
  await approve("Approve");
  await id("key-panel").waitFor();
  await id("key-close").click();
  await id("prompt").fill("Hi from testnet");
  await id("send").click();
  await noStreaming(page);
  await waitText(page, "usage-spent", "0.00011 AIC");
  await shot("2-chat");

  await id("end-refund").click();
  await approve("Approve");
  await id("refund-result").waitFor();
  await waitText(page, "token-balance", `${formatUnits(100_000_000n - ANSWER_COST)} AIC`);
  t.deepEqual(stubs.txs, [
    "storage_deposit",
    "buy_tokens_for_near",
    "start_ai_conversation",
    "refund_unspent",
  ]);
  await shot("3-refunded");

  // The policy the page installed: an injected inline script does not run (no nonce).
  const ran = await page.evaluate(async () => {
    const s = document.createElement("script");
    s.textContent = "window.__injected = 1";
    document.body.append(s);
    await new Promise((r) => setTimeout(r, 50));
    return (window as unknown as { __injected?: number }).__injected;
  });
  t.is(ran, undefined, "inline script without the nonce was blocked");

  // Reload: the connector remembers the wallet and the app its conversations.
  await page.reload();
  await waitText(page, "account-id", "alice.testnet");
  await page.locator('[data-testid="conversation-item"][data-status="refunded"]').waitFor();
  t.deepEqual(
    consoleErrors.filter(
      (e) => !/Content Security Policy|Refused to execute|Failed to load resource/.test(e),
    ),
    [],
  );
});

const formatUnits = (raw: bigint) => {
  const whole = raw / 1_000_000n;
  const frac = (raw % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole}${frac ? `.${frac}` : ""}`;
};
