// A local 0G inference provider: the HTTP surface the SDK talks to, backed by a deterministic echo
// "model", and on-chain settlement with a TEE-signer key, so the SDK runs exactly as against the
// real network: session-token auth, /unsettledfee for auto-funding, /signature for processResponse,
// settleFeesWithTEE moving the fee from the user's sub-account to the provider.
//
// Endpoints (all under the service URL registered on chain):
//   POST /v1/proxy/chat/completions      OpenAI chat completions, JSON or SSE, with usage; ZG-Res-Key header
//   GET  /v1/proxy/models                the one model
//   GET  /v1/proxy/signature/:chatId     {text, signature} signed by the TEE signer (processResponse)
//   GET  /v1/user/:address/unsettledfee  {unsettledFee} (auto-funding; needs the bearer session token)
//   GET  /v1/quote                       a stub attestation report (verifyService / health probes)
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Contract, getBytes, keccak256, toUtf8Bytes, verifyMessage, type Wallet } from "ethers";
import { Hono } from "hono";
import { MIN_LOCKED } from "#proxy/0g-chain";
import { InferenceServing } from "./contracts.js";

export interface LocalProviderOptions {
  /** Provider account (pays the stake, receives settled fees). */
  wallet: Wallet;
  /** TEE signer key: signs responses and settlements; its address is registered with the service. */
  teeSigner: Wallet;
  inferenceAddress: string;
  model: string;
  port?: number;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

interface SessionToken {
  address: string;
  provider: string;
  timestamp: number;
  expiresAt: number;
  nonce: string;
  generation: number;
  tokenId: number;
}

function countTokens(text: string): number {
  // Whitespace "tokens": deterministic, so tests can predict the fee to the wei.
  return text.split(/\s+/).filter(Boolean).length;
}

function messageText(body: Record<string, unknown>): { prompt: string; lastUser: string } {
  const messages = Array.isArray(body.messages)
    ? (body.messages as { role?: string; content?: unknown }[])
    : [];
  const texts = messages.map((m) =>
    typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? ""),
  );
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  return {
    prompt: texts.join(" "),
    lastUser: typeof lastUser?.content === "string" ? lastUser.content : "",
  };
}

function openAiError(status: number, message: string, type: string): Response {
  return Response.json({ error: { message, type, code: type } }, { status });
}

export class LocalProvider {
  readonly address: string;
  url = "";
  /** Fees served but not yet settled on chain, per user address (lower-case). */
  readonly unsettled = new Map<string, bigint>();
  readonly served: { chatId: string; user: string; usage: Usage; fee: bigint }[] = [];
  private readonly signatures = new Map<string, { text: string; signature: string }>();
  private readonly serving: Contract;
  private server?: ReturnType<typeof serve>;
  private inputPrice = 0n;
  private outputPrice = 0n;

  constructor(private readonly opts: LocalProviderOptions) {
    this.address = opts.wallet.address;
    this.serving = new Contract(opts.inferenceAddress, InferenceServing.abi as never, opts.wallet);
  }

  async start(): Promise<string> {
    const app = this.routes();
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: this.opts.port ?? 0 });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", reject);
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  /** Registers (or updates) the service on chain; the first registration stakes MIN_PROVIDER_STAKE. */
  async register(prices: { inputPrice: bigint; outputPrice: bigint }): Promise<void> {
    this.inputPrice = prices.inputPrice;
    this.outputPrice = prices.outputPrice;
    const exists: boolean = await this.serving.getFunction("serviceExists")(this.address);
    const stake: bigint = exists ? 0n : await this.serving.getFunction("MIN_PROVIDER_STAKE")();
    const params = {
      serviceType: "chatbot",
      url: this.url,
      model: this.opts.model,
      verifiability: "TeeML",
      inputPrice: prices.inputPrice,
      outputPrice: prices.outputPrice,
      // "centralized": the broker's own TEE key signs responses (the SDK then verifies against
      // teeSignerAddress rather than a separate model TEE).
      additionalInfo: JSON.stringify({ ProviderType: "centralized" }),
      teeSignerAddress: this.opts.teeSigner.address,
    };
    await (await this.serving.getFunction("addOrUpdateService")(params, { value: stake })).wait();
  }

  /** Settles every user's unsettled fees on chain; returns what was settled per user. */
  async settle(): Promise<Map<string, bigint>> {
    const settled = new Map<string, bigint>();
    for (const [user, fee] of this.unsettled) {
      if (fee === 0n) continue;
      const account = await this.serving.getFunction("getAccount")(user, this.address);
      const nonce = (account.nonce as bigint) + 1n;
      const requestsHash = keccak256(toUtf8Bytes(`${user}:${nonce}:${fee}`));
      // The deployed InferenceServing verifies an EIP-712 signature by the service's TEE signer.
      const { chainId } = await this.opts.wallet.provider!.getNetwork();
      const signature = await this.opts.teeSigner.signTypedData(
        {
          name: "0G Inference Serving",
          version: "1",
          chainId,
          verifyingContract: this.opts.inferenceAddress,
        },
        {
          TEESettlement: [
            { name: "requestsHash", type: "bytes32" },
            { name: "nonce", type: "uint256" },
            { name: "provider", type: "address" },
            { name: "user", type: "address" },
            { name: "totalFee", type: "uint256" },
          ],
        },
        { requestsHash, nonce, provider: this.address, user, totalFee: fee },
      );
      const tx = await this.serving.getFunction("settleFeesWithTEE")([
        { user, provider: this.address, totalFee: fee, requestsHash, nonce, signature },
      ]);
      const receipt = await tx.wait();
      // TEESettlementResult(user, status, unsettledAmount): status 0 = full success, 1 = partial.
      let unsettledLeft = fee;
      for (const log of receipt?.logs ?? []) {
        const parsed = this.serving.interface.parseLog(log);
        if (parsed?.name === "TEESettlementResult") {
          const status = Number(parsed.args[1]);
          if (status === 0) unsettledLeft = 0n;
          else if (status === 1) unsettledLeft = parsed.args[2] as bigint;
          else throw new Error(`settlement for ${user} failed with status ${status}`);
        }
      }
      settled.set(user, fee - unsettledLeft);
      this.unsettled.set(user, unsettledLeft);
    }
    return settled;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive sockets from fetch() would hold close() open.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }

  private async authenticate(req: Request): Promise<string | Response> {
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Bearer app-sk-(.+)$/.exec(auth);
    if (!m) return openAiError(401, "missing 0G session token", "unauthorized");
    const decoded = Buffer.from(m[1] ?? "", "base64").toString("utf8");
    const cut = decoded.lastIndexOf("|");
    if (cut < 0) return openAiError(401, "malformed 0G session token", "unauthorized");
    const raw = decoded.slice(0, cut);
    const signature = decoded.slice(cut + 1);
    let token: SessionToken;
    try {
      token = JSON.parse(raw) as SessionToken;
    } catch {
      return openAiError(401, "malformed 0G session token", "unauthorized");
    }
    // The SDK signs keccak256(utf8(rawMessage)) as an EIP-191 personal message.
    const signer = verifyMessage(getBytes(keccak256(toUtf8Bytes(raw))), signature);
    if (signer.toLowerCase() !== token.address.toLowerCase()) {
      return openAiError(401, "session token signature does not match its address", "unauthorized");
    }
    if (token.provider.toLowerCase() !== this.address.toLowerCase()) {
      return openAiError(401, "session token is for another provider", "unauthorized");
    }
    if (token.expiresAt !== 0 && token.expiresAt < Date.now()) {
      return openAiError(401, "session token expired", "unauthorized");
    }
    const exists: boolean = await this.serving.getFunction("accountExists")(token.address, this.address);
    if (!exists)
      return openAiError(402, "no sub-account for this user at this provider", "insufficient_balance");
    const account = await this.serving.getFunction("getAccount")(token.address, this.address);
    if (!account.acknowledged)
      return openAiError(403, "user has not acknowledged this provider", "unacknowledged");
    if (BigInt(token.generation) !== (account.generation as bigint)) {
      return openAiError(401, "session token revoked", "unauthorized");
    }
    return token.address.toLowerCase();
  }

  private async lockedBalanceOk(user: string): Promise<boolean> {
    const account = await this.serving.getFunction("getAccount")(user, this.address);
    const locked = (account.balance as bigint) - (account.pendingRefund as bigint);
    return locked >= (this.unsettled.get(user) ?? 0n) + MIN_LOCKED;
  }

  private routes(): Hono {
    const app = new Hono();
    app.get("/v1/quote", (c) =>
      c.json({ quote: "local-0g-harness", signing_address: this.opts.teeSigner.address }),
    );
    app.get("/v1/proxy/models", (c) =>
      c.json({ object: "list", data: [{ id: this.opts.model, object: "model" }] }),
    );
    app.get("/v1/proxy/signature/:chatId", (c) => {
      const sig = this.signatures.get(c.req.param("chatId"));
      return sig ? c.json({ ...sig, signing_algo: "ecdsa" }) : c.json({ error: "unknown chat id" }, 404);
    });
    app.get("/v1/user/:address/unsettledfee", async (c) => {
      const user = await this.authenticate(c.req.raw);
      if (user instanceof Response) return user;
      if (user !== c.req.param("address").toLowerCase()) return c.json({ error: "not your account" }, 403);
      return c.json({ unsettledFee: (this.unsettled.get(user) ?? 0n).toString() });
    });
    app.post("/v1/proxy/chat/completions", async (c) => {
      const user = await this.authenticate(c.req.raw);
      if (user instanceof Response) return user;
      if (!(await this.lockedBalanceOk(user))) {
        return openAiError(
          402,
          "insufficient balance in the user's sub-account at this provider",
          "insufficient_balance",
        );
      }
      const body = (await c.req.json()) as Record<string, unknown>;
      return this.complete(user, body);
    });
    return app;
  }

  private async complete(user: string, body: Record<string, unknown>): Promise<Response> {
    const { prompt, lastUser } = messageText(body);
    let words = `Echo: ${lastUser}`.split(/\s+/).filter(Boolean);
    const max = typeof body.max_tokens === "number" ? body.max_tokens : undefined;
    if (max !== undefined) words = words.slice(0, Math.max(1, max));
    const content = words.join(" ");
    const usage: Usage = {
      prompt_tokens: countTokens(prompt),
      completion_tokens: words.length,
      total_tokens: countTokens(prompt) + words.length,
    };
    const chatId = `chatcmpl-${randomBytes(12).toString("hex")}`;
    const created = Math.floor(Date.now() / 1000);
    const fee =
      BigInt(usage.prompt_tokens) * this.inputPrice + BigInt(usage.completion_tokens) * this.outputPrice;
    // Account and sign before answering, as the real broker does: the fee is owed once served.
    this.unsettled.set(user, (this.unsettled.get(user) ?? 0n) + fee);
    this.served.push({ chatId, user, usage, fee });
    const text = JSON.stringify({ id: chatId, model: this.opts.model, content });
    this.signatures.set(chatId, { text, signature: await this.opts.teeSigner.signMessage(text) });
    const headers = { "ZG-Res-Key": chatId };

    if (body.stream !== true) {
      return Response.json(
        {
          id: chatId,
          object: "chat.completion",
          created,
          model: this.opts.model,
          choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
          usage,
        },
        { headers },
      );
    }
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id: chatId,
      object: "chat.completion.chunk",
      created,
      model: this.opts.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const events: unknown[] = [chunk({ role: "assistant", content: "" }, null)];
    words.forEach((w, i) => {
      events.push(chunk({ content: i === 0 ? w : ` ${w}` }, null));
    });
    events.push(chunk({}, "stop"));
    if (includeUsage) {
      events.push({
        id: chatId,
        object: "chat.completion.chunk",
        created,
        model: this.opts.model,
        choices: [],
        usage,
      });
    }
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const e of events) controller.enqueue(enc.encode(`data: ${JSON.stringify(e)}\n\n`));
        controller.enqueue(enc.encode("data: [DONE]\n\n"));
        controller.close();
      },
    });
    return new Response(stream, {
      headers: { ...headers, "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
    });
  }
}
