// Unit tests for the web4 app's pure modules: markdown safety and tables, amounts and costs (against
// the proxy's costOf), secrets, key export encryption, readable errors, transaction encoding
// (checked byte-for-byte against near-api-js), the dev wallet, RPC outcome parsing, streamed chat.
import { createHash } from "node:crypto";
import test from "ava";
import {
  actions,
  createTransaction,
  decodeSignedTransaction,
  encodeTransaction,
  KeyPair,
  PublicKey,
} from "near-api-js";
import nacl from "tweetnacl";
import { costOf as proxyCostOf } from "#internal/proxy/metering/prices";
import { BackupError, decryptBackup, encryptBackup, parseBackupFile } from "#internal/web4/backup";
import { parseConfig } from "#internal/web4/config";
import { affordableMaxTokens, quotaShortfall, readable } from "#internal/web4/errors";
import { ALLOWED_TAGS, type MdNode, parseMarkdown, safeHref } from "#internal/web4/markdown";
import { base58Decode, base58Encode } from "#internal/web4/near/base58";
import {
  extractEvents,
  type FinalOutcome,
  failureMessage,
  outcomeValue,
  TxFailedError,
} from "#internal/web4/near/rpc";
import { encodeSignedTransaction, encodeTransaction as encodeTx } from "#internal/web4/near/tx";
import { ProxyClient, ProxyError } from "#internal/web4/proxy";
import {
  conversationIdOf,
  conversationsKey,
  legacyKey,
  loadConversations,
  newSecret,
  removeConversation,
  type StoredConversation,
  upsertConversation,
} from "#internal/web4/secret";
import { SNIPPETS } from "#internal/web4/snippets";
import { DevWallet } from "#internal/web4/wallet/dev";
import { costOf, formatAmount, parseAmount } from "#web4/amount";

function walk(nodes: MdNode[], visit: (n: MdNode) => void) {
  for (const n of nodes) {
    visit(n);
    if (typeof n !== "string") walk(n.children, visit);
  }
}
const tagsOf = (src: string) => {
  const tags: string[] = [];
  walk(parseMarkdown(src), (n) => typeof n !== "string" && tags.push(n.tag));
  return tags;
};
const textOf = (src: string) => {
  let text = "";
  walk(parseMarkdown(src), (n) => {
    if (typeof n === "string") text += n;
  });
  return text;
};

class MemoryStore {
  map = new Map<string, string>();
  getItem = (k: string) => this.map.get(k) ?? null;
  setItem = (k: string, v: string) => void this.map.set(k, v);
  removeItem = (k: string) => void this.map.delete(k);
}

// ---------- markdown ----------

test("markdown: raw HTML, scripts and event handlers stay inert text", (t) => {
  const attacks = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<a href=\"javascript:alert(1)\" onclick='x()'>hi</a>",
    "<iframe src=https://evil></iframe><style>*{}</style>",
    "**<svg onload=alert(1)>**",
  ];
  for (const src of attacks) {
    for (const tag of tagsOf(src)) t.true(ALLOWED_TAGS.has(tag), `${tag} from ${src}`);
    t.false(tagsOf(src).some((tag) => ["script", "img", "iframe", "style", "svg"].includes(tag)));
    // The markup is shown, not dropped: the user sees what the model wrote.
    t.true(textOf(src).includes("<"), src);
  }
});

test("markdown: links only to http(s)/mailto; javascript:, data: and obfuscated schemes lose their href", (t) => {
  t.is(safeHref("https://near.org"), "https://near.org");
  t.is(safeHref("mailto:a@b.c"), "mailto:a@b.c");
  for (const bad of [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:x",
    "data:text/html,x",
    "/relative",
    "vbscript:x",
  ]) {
    t.is(safeHref(bad), null, bad);
  }
  const links: string[] = [];
  walk(parseMarkdown("[ok](https://x.y) [bad](javascript:alert(1)) [d](data:text/html;base64,xx)"), (n) => {
    if (typeof n !== "string" && n.tag === "a") links.push(n.href!);
  });
  t.deepEqual(links, ["https://x.y"]);
  t.true(textOf("[bad](javascript:alert(1))").includes("bad"));
});

test("markdown: renders the common constructs, including an unclosed fence mid-stream", (t) => {
  const tags = tagsOf(
    "# Title\n\nSome **bold**, *em*, `code` and ~~del~~.\n\n- a\n- b\n\n1. one\n\n> quote\n\n---\n\n```ts\nlet x = 1;\n",
  );
  for (const tag of ["h1", "p", "strong", "em", "code", "del", "ul", "li", "ol", "blockquote", "hr", "pre"]) {
    t.true(tags.includes(tag), tag);
  }
  const pre = parseMarkdown("```js\n<b>x</b>\n```")[0];
  t.like(pre, { tag: "pre", lang: "js" });
  t.is(textOf("```\n<b>x</b>\n```"), "<b>x</b>");
});

test("markdown: GFM tables with alignment, inline markup, escaped pipes and ragged rows", (t) => {
  const [table] = parseMarkdown(
    "| Model | Price | Notes |\n|:------|------:|:-----:|\n| `demo` | 1 | **fast** |\n| a \\| b | 2 |\n\nafter",
  ) as [MdNode & { tag: string; children: MdNode[] }];
  t.is(table.tag, "table");
  const [thead, tbody] = table.children as {
    tag: string;
    children: { children: { tag: string; align?: string; children: MdNode[] }[] }[];
  }[];
  t.is(thead!.tag, "thead");
  t.deepEqual(
    thead!.children[0]!.children.map((c) => [c.tag, c.align, c.children]),
    [
      ["th", "left", ["Model"]],
      ["th", "right", ["Price"]],
      ["th", "center", ["Notes"]],
    ],
  );
  const rows = tbody!.children.map((r) => r.children.map((c) => c.children));
  t.deepEqual(rows[0]![0], [{ tag: "code", children: ["demo"] }]);
  t.deepEqual(rows[0]![2], [{ tag: "strong", children: ["fast"] }]);
  t.deepEqual(rows[1], [["a | b"], ["2"], []], "escaped pipe kept, missing cell padded");
  t.true(tagsOf("| a | b |\n|---|---|\n| 1 | 2 |").includes("td"));
  // Not a table: a pipe without a delimiter row, or a column count mismatch.
  t.false(tagsOf("a | b\nc | d").includes("table"));
  t.false(tagsOf("a | b\n---").includes("table"));
});

test("markdown: intraword underscores are not emphasis (snake_case, __dunder__)", (t) => {
  t.deepEqual(tagsOf("window.__xss = 1 and snake_case_name"), ["p"]);
  t.deepEqual(tagsOf("<script>window.__xss = 1</script> window.__xss = 2"), ["p"]);
  t.deepEqual(tagsOf("__strong__ and _em_"), ["p", "strong", "em"]);
});

test("markdown: pathological nesting does not blow the stack", (t) => {
  t.notThrows(() => parseMarkdown(`${"> ".repeat(5000)}x`));
  t.notThrows(() => parseMarkdown("**".repeat(5000)));
  t.notThrows(() => parseMarkdown(`${"[".repeat(3000)}x${"](https://a)".repeat(3000)}`));
});

// ---------- amounts ----------

test("amounts: exact BigInt formatting and parsing", (t) => {
  t.is(formatAmount(1_500_000n, 6), "1.5");
  t.is(formatAmount(0n, 18), "0");
  t.is(formatAmount(1n, 24), "0.000000000000000000000001");
  t.is(formatAmount(1234567890000000000000000000n, 24, 4), "1,234.5678");
  t.is(
    formatAmount("340282366920938463463374607431768211455", 0),
    "340,282,366,920,938,463,463,374,607,431,768,211,455",
  );
  t.is(parseAmount("1.5", 6), 1_500_000n);
  t.is(parseAmount("1,000", 2), 100_000n);
  t.is(parseAmount(".25", 2), 25n);
  t.is(parseAmount("0.000000000000000000000001", 24), 1n);
  for (const bad of ["", "abc", "1.2.3", "-1", "1e5", "."])
    t.throws(() => parseAmount(bad, 6), undefined, bad);
  t.throws(() => parseAmount("0.1234567", 6), { message: /decimal places/ });
});

// ---------- secrets ----------

test("secret: 32 random bytes as hex; conversation_id = hex(sha256(utf8(secret))) like node and the proxy", async (t) => {
  const a = newSecret();
  const b = newSecret();
  t.regex(a, /^[0-9a-f]{64}$/);
  t.not(a, b);
  for (const s of [a, b, "hello", "ünïcødé"]) {
    t.is(await conversationIdOf(s), createHash("sha256").update(s, "utf8").digest("hex"));
  }
});

async function storedConv(amount = "10", created_at = 1): Promise<StoredConversation> {
  const secret = newSecret();
  return { secret, conversation_id: await conversationIdOf(secret), amount, created_at, state: "open" };
}

test("secrets: a list per contract and account, newest first, never mixed up", async (t) => {
  const store = new MemoryStore();
  const a = await storedConv("10", 1);
  const b = await storedConv("20", 2);
  upsertConversation(store, "token.test", "alice.test", a);
  t.deepEqual(
    upsertConversation(store, "token.test", "alice.test", b).map((c) => c.amount),
    ["20", "10"],
  );
  t.deepEqual(loadConversations(store, "token.test", "alice.test"), [b, a]);
  t.deepEqual(loadConversations(store, "token.test", "bob.test"), []);
  t.deepEqual(loadConversations(store, "other.test", "alice.test"), []);
  // Replacing by id keeps one record; removing drops only that one.
  upsertConversation(store, "token.test", "alice.test", { ...a, state: "refunded" });
  t.deepEqual(
    loadConversations(store, "token.test", "alice.test").map((c) => c.state),
    ["open", "refunded"],
  );
  removeConversation(store, "token.test", "alice.test", b.conversation_id);
  t.deepEqual(
    loadConversations(store, "token.test", "alice.test").map((c) => c.amount),
    ["10"],
  );
  // Garbage in storage is ignored, not fatal.
  store.setItem(conversationsKey("token.test", "carol.test"), '[{"secret":1},"x",null]');
  t.deepEqual(loadConversations(store, "token.test", "carol.test"), []);
});

test("secrets: the first version's single conversation is migrated into the list, once", async (t) => {
  const store = new MemoryStore();
  const old = await storedConv("5", 7);
  store.setItem(legacyKey("token.test", "alice.test"), JSON.stringify(old));
  t.deepEqual(loadConversations(store, "token.test", "alice.test"), [old]);
  t.is(store.getItem(legacyKey("token.test", "alice.test")), null, "the v1 key is gone");
  t.deepEqual(loadConversations(store, "token.test", "alice.test"), [old], "and the list keeps it");
});

// ---------- key export ----------

test("backup: keys and histories round-trip through the passphrase-encrypted file", async (t) => {
  const conv = { ...(await storedConv("123")), messages: [{ role: "user" as const, content: "hi" }] };
  const scope = { network: "localnet", contract_id: "token.test", account_id: "alice.test" };
  const file = await encryptBackup(scope, { exported_at: "now", conversations: [conv] }, "correct horse");
  const text = JSON.stringify(file);
  t.false(text.includes(conv.secret), "the secret is not in the file in the clear");
  t.false(text.includes('"hi"'));
  t.like(file, { ...scope, format: "aiconv-keys", version: 1, kdf: { iterations: 600_000 } });
  const back = await decryptBackup(parseBackupFile(text), "correct horse");
  t.deepEqual(back.conversations, [conv]);
  await t.throwsAsync(decryptBackup(parseBackupFile(text), "wrong horse"), {
    instanceOf: BackupError,
    message: /Wrong passphrase/,
  });
  // The clear header is authenticated: moving the file to another account breaks it.
  const moved = { ...file, account_id: "mallory.test" };
  await t.throwsAsync(decryptBackup(parseBackupFile(JSON.stringify(moved)), "correct horse"), {
    message: /Wrong passphrase, or the file was changed/,
  });
  t.throws(() => parseBackupFile("not json"), { message: /not JSON/ });
  t.throws(() => parseBackupFile('{"format":"other"}'), { message: /not a key export file/ });
});

// ---------- errors, costs ----------

test("errors: contract panics read as the reason alone, never with a QuickJS stack trace", (t) => {
  const panic =
    "Smart contract panicked: The account doesn't have enough balance\n    at fail (contract.js:3368:18)\n    at need (contract.js:3372:5)\n    at start_ai_conversation (contract.js:4100:3)\n";
  t.is(
    readable(new TxFailedError(panic, {} as FinalOutcome)),
    "The contract refused: The account doesn't have enough balance",
  );
  // Collapsed onto one line (as the issue saw it) the frames still go.
  t.is(
    readable(
      "Smart contract panicked: not enough balance at fail (contract.js:3368:18) at need (contract.js:12:5)",
    ),
    "The contract refused: not enough balance",
  );
  t.is(readable(new Error("plain words")), "plain words");
  t.is(readable({ message: "from a wallet" }), "from a wallet");
  t.is(readable("User rejected"), "User rejected");
  // A reason that mentions "at" is kept.
  t.is(
    readable("Smart contract panicked: Attach at least 1000 yoctoNEAR"),
    "The contract refused: Attach at least 1000 yoctoNEAR",
  );
});

test("errors: a 402 is read into exact units and the largest max_tokens that fits", (t) => {
  const e = new ProxyError(
    "insufficient conversation balance: this request may cost up to 20000010 token units, 9999780 available (lower max_tokens or open a new conversation)",
    402,
    "insufficient_quota",
  );
  const s = quotaShortfall(e);
  t.deepEqual(s, { needed: 20_000_010n, available: 9_999_780n });
  const fits = affordableMaxTokens(s!, 10_000_000, 2_000_000n);
  t.is(fits, 4_999_885);
  // The proxy would accept that (prompt share 10 units at 1 unit/token) and refuse one more.
  t.true(
    proxyCostOf({ input_per_million: 1_000_000n, output_per_million: 2_000_000n }, 10, fits) <= 9_999_780n,
  );
  t.true(
    proxyCostOf({ input_per_million: 1_000_000n, output_per_million: 2_000_000n }, 10, fits + 1) > 9_999_780n,
  );
  t.is(quotaShortfall(new ProxyError("x", 400)), null);
});

test("costs: the page prices an answer exactly like the proxy's costOf (rounding up)", (t) => {
  for (const [input, output] of [
    ["1000000", "2000000"],
    ["150000", "600000"],
    ["3", "7"],
    ["0", "0"],
  ] as const) {
    for (const [p, c] of [
      [0, 0],
      [1, 1],
      [12, 345],
      [999_999, 1],
      [123_456, 654_321],
    ] as const) {
      t.is(
        costOf({ input, output }, { prompt_tokens: p, completion_tokens: c }),
        proxyCostOf({ input_per_million: BigInt(input), output_per_million: BigInt(output) }, p, c),
        `${input}/${output} × ${p}/${c}`,
      );
    }
  }
});

test("snippets: every snippet carries the key, the base URL and the model", (t) => {
  const input = { apiKey: "k".repeat(64), baseUrl: "http://127.0.0.1:8787/v1", model: "demo-local" };
  t.deepEqual(
    SNIPPETS.map((s) => s.id),
    ["js", "python", "curl", "app"],
  );
  for (const s of SNIPPETS) {
    const code = s.code(input);
    for (const part of Object.values(input)) t.true(code.includes(part), `${s.id} has ${part}`);
  }
});

test("config: dev accounts are dropped unless the network is localnet", (t) => {
  const base = { contract_id: "c.test", proxy_url: "http://p/", rpc_url: "http://r" };
  const dev_accounts = [{ account_id: "alice.test", secret_key: "ed25519:x" }];
  t.deepEqual(parseConfig({ ...base, network: "localnet", dev_accounts }).dev_accounts, dev_accounts);
  t.is(parseConfig({ ...base, network: "testnet", dev_accounts }).dev_accounts, undefined);
  t.is(parseConfig({ ...base, network: "localnet" }).proxy_url, "http://p");
  t.throws(() => parseConfig({ ...base, network: "moonnet" }));
  t.throws(() => parseConfig({ network: "localnet" }), { message: /contract_id/ });
});

// ---------- transactions ----------

const keyPair = KeyPair.fromRandom("ed25519");
const blockHash = new Uint8Array(32).map((_, i) => i * 7);

test("tx: base58 round-trips, leading zeros included", (t) => {
  for (const bytes of [new Uint8Array([0, 0, 1, 2, 255]), blockHash, new Uint8Array(32)]) {
    t.deepEqual(base58Decode(base58Encode(bytes)), bytes);
  }
  t.is(base58Encode(keyPair.getPublicKey().data), keyPair.getPublicKey().toString().slice(8));
});

test("tx: borsh encoding matches near-api-js byte for byte", (t) => {
  const args = { conversation_id: "ab".repeat(32), amount: "1000000" };
  const gas = 100_000_000_000_000n;
  const deposit = 10n ** 22n + 1n;
  const naj = createTransaction(
    "alice.test",
    keyPair.getPublicKey(),
    "token.test",
    42n,
    [actions.functionCall("start_ai_conversation", args, gas, deposit), actions.transfer(5n)],
    blockHash,
  );
  const ours = encodeTx({
    signerId: "alice.test",
    publicKey: keyPair.getPublicKey().data,
    nonce: 42n,
    receiverId: "token.test",
    blockHash,
    actions: [
      {
        type: "FunctionCall",
        params: {
          methodName: "start_ai_conversation",
          args,
          gas: gas.toString(),
          deposit: deposit.toString(),
        },
      },
      { type: "Transfer", params: { deposit: "5" } },
    ],
  });
  t.deepEqual(Buffer.from(ours), Buffer.from(encodeTransaction(naj)));
});

// ---------- dev wallet ----------

function fakeRpc(outcome: Partial<FinalOutcome> = {}) {
  const sent: Uint8Array[] = [];
  let chainNonce = 7;
  return {
    sent,
    rpc: {
      accessKey: async () => ({ nonce: chainNonce, block_hash: base58Encode(blockHash) }),
      sendTx: async (bytes: Uint8Array) => {
        sent.push(bytes);
        chainNonce = 7; // the chain has not caught up yet: the wallet must still not reuse a nonce
        return {
          status: { SuccessValue: "" },
          transaction: { hash: "h", signer_id: "alice.test", receiver_id: "token.test" },
          transaction_outcome: { id: "t", outcome: { logs: [], status: { SuccessValue: "" } } },
          receipts_outcome: [],
          ...outcome,
        } as FinalOutcome;
      },
    },
  };
}

test("dev wallet: signs a valid transaction near-api-js can decode and nacl can verify", async (t) => {
  const store = new MemoryStore();
  const { rpc, sent } = fakeRpc();
  const accounts = [
    { account_id: "alice.test", secret_key: keyPair.toString() },
    { account_id: "bob.test", secret_key: keyPair.toString() },
  ];
  // biome-ignore lint/suspicious/noExplicitAny: a structural fake of NearRpc
  const wallet = new DevWallet(rpc as any, accounts, store);
  t.is(wallet.kind, "dev");
  t.is(wallet.accountId(), null);
  t.deepEqual(wallet.availableAccounts(), ["alice.test", "bob.test"]);
  await t.throwsAsync(() => wallet.signAndSendTransaction({ receiverId: "token.test", actions: [] }), {
    message: /not signed in/,
  });
  await t.throwsAsync(() => wallet.signIn("mallory.test"));
  t.is(await wallet.signIn("alice.test"), "alice.test");
  // A new wallet object (page reload) remembers the choice.
  // biome-ignore lint/suspicious/noExplicitAny: a structural fake of NearRpc
  t.is(new DevWallet(rpc as any, accounts, store).accountId(), "alice.test");

  const action = {
    type: "FunctionCall" as const,
    params: { methodName: "buy_tokens_for_near", args: {}, gas: "30000000000000", deposit: "1" },
  };
  await wallet.signAndSendTransaction({ receiverId: "token.test", actions: [action] });
  await wallet.signAndSendTransaction({ receiverId: "token.test", actions: [action] });
  const [first, second] = sent.map((b) => decodeSignedTransaction(b));
  t.is(first!.transaction.signerId, "alice.test");
  t.is(first!.transaction.receiverId, "token.test");
  t.is(first!.transaction.nonce, 8n);
  t.is(second!.transaction.nonce, 9n, "nonce advances even when the chain view lags");
  const hash = createHash("sha256").update(encodeTransaction(first!.transaction)).digest();
  t.true(
    nacl.sign.detached.verify(
      hash,
      Uint8Array.from(first!.signature.ed25519Signature!.data),
      keyPair.getPublicKey().data,
    ),
  );
  t.true(
    PublicKey.fromString(keyPair.getPublicKey().toString()).verify(
      hash,
      Uint8Array.from(first!.signature.ed25519Signature!.data),
    ),
  );

  await wallet.signOut();
  t.is(wallet.accountId(), null);
  t.is(store.getItem("aiconv:v1:dev-wallet-account"), null);
});

test("dev wallet: a failed receipt surfaces as TxFailedError with the panic message", async (t) => {
  const { rpc } = fakeRpc({
    receipts_outcome: [
      {
        id: "r",
        outcome: {
          logs: [],
          status: {
            Failure: {
              ActionError: {
                index: 0,
                kind: {
                  FunctionCallError: { ExecutionError: "Smart contract panicked: not enough balance" },
                },
              },
            },
          },
        },
      },
    ],
  });
  const wallet = new DevWallet(
    // biome-ignore lint/suspicious/noExplicitAny: a structural fake of NearRpc
    rpc as any,
    [{ account_id: "alice.test", secret_key: keyPair.toString() }],
    new MemoryStore(),
  );
  await wallet.signIn();
  const err = await t.throwsAsync(() =>
    wallet.signAndSendTransaction({ receiverId: "token.test", actions: [] }),
  );
  t.true(err instanceof TxFailedError);
  t.is(err!.message, "Smart contract panicked: not enough balance");
});

test("signed transaction encoding matches near-api-js", (t) => {
  const tx = {
    signerId: "a.test",
    publicKey: keyPair.getPublicKey().data,
    nonce: 1n,
    receiverId: "b.test",
    blockHash,
    actions: [],
  };
  const sig = new Uint8Array(64).fill(9);
  const decoded = decodeSignedTransaction(encodeSignedTransaction(tx, sig));
  t.is(decoded.transaction.signerId, "a.test");
  t.deepEqual(Uint8Array.from(decoded.signature.ed25519Signature!.data), sig);
});

// ---------- outcomes and events ----------

test("rpc: NEP-297 events are collected from every receipt; values and failures decode", (t) => {
  const ev1 = {
    standard: "nep141",
    version: "1.0.0",
    event: "ft_transfer",
    data: [{ old_owner_id: "c", new_owner_id: "alice", amount: "5" }],
  };
  const ev2 = {
    standard: "ai_conversation",
    version: "1.0.0",
    event: "refund",
    data: { conversation_id: "x" },
  };
  const outcome: FinalOutcome = {
    status: { SuccessValue: Buffer.from(JSON.stringify("5")).toString("base64") },
    transaction: { hash: "h", signer_id: "alice", receiver_id: "c" },
    transaction_outcome: { id: "t", outcome: { logs: [], status: { SuccessReceiptId: "r1" } } },
    receipts_outcome: [
      {
        id: "r1",
        outcome: {
          logs: ["plain log", `EVENT_JSON:${JSON.stringify(ev2)}`, "EVENT_JSON:{broken"],
          status: { SuccessValue: "" },
          executor_id: "c",
        },
      },
      {
        id: "r2",
        outcome: {
          logs: [`EVENT_JSON:${JSON.stringify(ev1)}`],
          status: { SuccessValue: "" },
          executor_id: "c",
        },
      },
    ],
  };
  t.deepEqual(extractEvents(outcome), [
    { ...ev2, executor_id: "c" },
    { ...ev1, executor_id: "c" },
  ]);
  t.is(outcomeValue(outcome), "5");
  t.is(
    failureMessage({
      ActionError: { kind: { FunctionCallError: { ExecutionError: 'Smart contract panicked: "quoted"' } } },
    }),
    'Smart contract panicked: "quoted"',
  );
});

// ---------- streamed chat ----------

function sseResponse(text: string, size: number): Response {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

test("chat stream: deltas and usage survive arbitrary chunk boundaries (eventsource-parser)", async (t) => {
  const stream =
    'data: {"choices":[{"delta":{"content":"Hé"}}]}\n\n' +
    ": keep-alive comment\n\n" +
    'data: {"choices":[{"delta":{"content":"llo"}}]}\r\n\r\n' +
    'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n' +
    "data: [DONE]\n\n";
  for (const size of [1, 2, 5, 13, stream.length]) {
    const client = new ProxyClient("http://proxy", async () => sseResponse(stream, size));
    const deltas: string[] = [];
    const result = await client.chat("secret", { messages: [] }, (d) => deltas.push(d));
    t.is(deltas.join(""), "Héllo", `chunk size ${size}`);
    t.deepEqual(result, { content: "Héllo", usage: { prompt_tokens: 3, completion_tokens: 2 } });
  }
});

test("chat stream: an error event mid-stream and an HTTP error keep the proxy's code and message", async (t) => {
  const broken =
    'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"error":{"message":"upstream died","code":"upstream_error"}}\n\n';
  const client = new ProxyClient("http://proxy", async () => sseResponse(broken, 4));
  const err = await t.throwsAsync(
    client.chat("s", { messages: [] }, () => {}),
    { instanceOf: ProxyError },
  );
  t.is(err.message, "upstream died");
  t.is(err.code, "upstream_error");
  const refusing = new ProxyClient("http://proxy", async () =>
    Response.json({ error: { message: "no such model", code: "model_not_found" } }, { status: 404 }),
  );
  const e404 = await t.throwsAsync(
    refusing.chat("s", { messages: [] }, () => {}),
    { instanceOf: ProxyError },
  );
  t.like(e404, { status: 404, code: "model_not_found", message: "no such model" });
  const down = new ProxyClient("http://proxy", async () => {
    throw new TypeError("fetch failed");
  });
  const e0 = await t.throwsAsync(down.current("s"), { instanceOf: ProxyError });
  t.true(e0.unreachable);
});
