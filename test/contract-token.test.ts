// Token contract: NEP-141 / NEP-145 / NEP-148 / NEP-297, NEAR sale, owner methods, config views, web4.
import { readFileSync } from "node:fs";
import anyTest, { type TestFn } from "ava";
import {
  balanceOf,
  deployAndInit,
  deployToken,
  eventsOf,
  MAX_GAS,
  METADATA,
  NEAR,
  newAccount,
  ONE_YOCTO,
  panics,
  receiverBundle,
  registerAccount,
  TOTAL_SUPPLY,
  type TokenContext,
  transfer,
  useTokenWorker,
  type World,
} from "./helpers/token.js";

const test = anyTest as TestFn<TokenContext & { world?: World }>;

// Every test leaves the supply invariant intact.
useTokenWorker(test);

async function world(
  t: { context: TokenContext & { world?: World } },
  opts?: Parameters<typeof deployToken>[1],
) {
  t.context.world = await deployToken(t.context.root, opts);
  return t.context.world;
}

test.serial("new mints the total supply to the owner and emits ft_mint", async (t) => {
  const owner = await newAccount(t.context.root, "owner");
  const token = await newAccount(t.context.root, "token", 50n * NEAR);
  const result = await deployAndInit(token, owner, 1000n);
  t.true(result.succeeded, JSON.stringify(result.Failure));
  t.deepEqual(eventsOf(result.logs), [
    {
      standard: "nep141",
      version: "1.0.0",
      event: "ft_mint",
      data: [{ owner_id: owner.accountId, amount: "1000", memo: "new" }],
    },
  ]);
  t.is(await token.view("ft_total_supply"), "1000");
  t.is(await balanceOf(token, owner), 1000n);
  t.regex((await token.view<{ deployment: string }>("get_config")).deployment, /^[0-9a-f]{32}$/);
  await panics(
    t,
    token.call(token, "new", { owner_id: owner.accountId, total_supply: "1", metadata: METADATA }),
    "Contract already initialized",
  );
  // ft_balance_of(contract) is the open escrow: a supply minted to the contract itself would vanish.
  const selfOwned = await newAccount(t.context.root, "selfowned", 50n * NEAR);
  const refused = await deployAndInit(selfOwned, selfOwned, 1n);
  t.true(refused.failed);
  t.true(refused.receiptFailureMessagesContain("owner_id cannot be the token contract itself"));
  t.is((await selfOwned.accountView()).code_hash, "11111111111111111111111111111111", "code rolled back");
  t.context.world = { root: t.context.root, token, owner, alice: owner, bob: owner, conversations: [] };
});

test.serial("ft_metadata is NEP-148 with an SVG data-URL icon", async (t) => {
  const w = await world(t);
  const meta = await w.token.view<Record<string, unknown>>("ft_metadata");
  t.like(meta, { spec: "ft-1.0.0", name: "AI Credits", symbol: "AIC", decimals: 6, reference: null });
  t.regex(meta.icon as string, /^data:image\/svg\+xml,/);
});

test.serial("ft_transfer moves tokens, emits ft_transfer with memo, needs exactly 1 yoctoNEAR", async (t) => {
  const w = await world(t);
  const result = await w.owner.callRaw(
    w.token,
    "ft_transfer",
    { receiver_id: w.alice.accountId, amount: "250", memo: "hi" },
    { attachedDeposit: ONE_YOCTO },
  );
  t.true(result.succeeded);
  t.deepEqual(eventsOf(result.logs)[0], {
    standard: "nep141",
    version: "1.0.0",
    event: "ft_transfer",
    data: [{ old_owner_id: w.owner.accountId, new_owner_id: w.alice.accountId, amount: "250", memo: "hi" }],
  });
  t.is(await balanceOf(w.token, w.alice), 250n);
  t.is(await balanceOf(w.token, w.owner), TOTAL_SUPPLY - 250n);
  const args = { receiver_id: w.bob.accountId, amount: "1" };
  await panics(t, w.alice.call(w.token, "ft_transfer", args), "exactly 1 yoctoNEAR");
  await panics(t, w.alice.call(w.token, "ft_transfer", args, { attachedDeposit: 2n }), "exactly 1 yoctoNEAR");
});

test.serial(
  "ft_transfer rejects bad amounts, self transfers, overdrafts and unregistered receivers",
  async (t) => {
    const w = await world(t);
    await transfer(w, w.owner, w.alice, 10n);
    const send = (args: Record<string, unknown>) =>
      w.alice.call(
        w.token,
        "ft_transfer",
        { receiver_id: w.bob.accountId, ...args },
        { attachedDeposit: ONE_YOCTO },
      );
    await panics(t, send({ amount: "0" }), "amount must be positive");
    await panics(t, send({ amount: "-1" }), "amount must be a U128 decimal string");
    await panics(t, send({ amount: "1.5" }), "amount must be a U128 decimal string");
    await panics(t, send({ amount: 5 }), "amount must be a U128 decimal string");
    await panics(t, send({ amount: "11" }), "The account doesn't have enough balance");
    await panics(
      t,
      send({ amount: "1", receiver_id: w.alice.accountId }),
      "Sender and receiver should be different",
    );
    const stranger = await newAccount(t.context.root, "stranger");
    await panics(t, send({ amount: "1", receiver_id: stranger.accountId }), "is not registered");
    t.is(await balanceOf(w.token, w.alice), 10n);
  },
);

test.serial(
  "ft_transfer_call: receiver keeps part, returns the rest; result is the used amount",
  async (t) => {
    const w = await world(t);
    const receiver = await newAccount(t.context.root, "recv");
    await receiver.deploy(readFileSync(await receiverBundle()));
    await registerAccount(w.token, receiver);
    const result = await w.owner.callRaw(
      w.token,
      "ft_transfer_call",
      { receiver_id: receiver.accountId, amount: "100", msg: "return:30" },
      { attachedDeposit: ONE_YOCTO, gas: MAX_GAS },
    );
    t.true(result.succeeded, JSON.stringify(result.Failure));
    t.is(result.parseResult<string>(), "70");
    t.is(await balanceOf(w.token, receiver), 70n);
    t.is(await balanceOf(w.token, w.owner), TOTAL_SUPPLY - 70n);
    const refund = eventsOf(result.logs).find((e) => e.data[0].memo === "refund");
    t.like(refund?.data[0], {
      old_owner_id: receiver.accountId,
      new_owner_id: w.owner.accountId,
      amount: "30",
    });
  },
);

test.serial("ft_transfer_call: a panicking or garbage-returning receiver gets nothing", async (t) => {
  const w = await world(t);
  const receiver = await newAccount(t.context.root, "recv");
  await receiver.deploy(readFileSync(await receiverBundle()));
  await registerAccount(w.token, receiver);
  for (const msg of ["panic", "garbage"]) {
    const result = await w.owner.callRaw(
      w.token,
      "ft_transfer_call",
      { receiver_id: receiver.accountId, amount: "100", msg },
      { attachedDeposit: ONE_YOCTO, gas: MAX_GAS },
    );
    t.true(result.succeeded, JSON.stringify(result.Failure));
    t.is(result.parseResult<string>(), "0", msg);
    t.is(await balanceOf(w.token, receiver), 0n, msg);
    t.is(await balanceOf(w.token, w.owner), TOTAL_SUPPLY, msg);
  }
});

test.serial("ft_transfer_call: keep-all receiver and the 1 yoctoNEAR rule", async (t) => {
  const w = await world(t);
  const receiver = await newAccount(t.context.root, "recv");
  await receiver.deploy(readFileSync(await receiverBundle()));
  await registerAccount(w.token, receiver);
  const args = { receiver_id: receiver.accountId, amount: "5", msg: "" };
  await panics(t, w.owner.call(w.token, "ft_transfer_call", args, { gas: MAX_GAS }), "exactly 1 yoctoNEAR");
  const used = await w.owner.call(w.token, "ft_transfer_call", args, {
    attachedDeposit: ONE_YOCTO,
    gas: MAX_GAS,
  });
  t.is(used, "5");
  t.is(await receiver.view("get_received"), "5");
});

test.serial(
  "NEP-145: bounds, balance_of, deposit refunds the excess, re-deposit refunds everything",
  async (t) => {
    const w = await world(t, { register: false });
    const bounds = await w.token.view<{ min: string; max: string }>("storage_balance_bounds");
    t.is(bounds.min, bounds.max);
    t.true(BigInt(bounds.min) > 0n);
    t.is(await w.token.view("storage_balance_of", { account_id: w.alice.accountId }), null);
    await panics(
      t,
      w.alice.call(w.token, "storage_deposit", {}, { attachedDeposit: BigInt(bounds.min) - 1n }),
      "less than the minimum storage balance",
    );
    const before = BigInt((await w.alice.accountView()).amount);
    const balance = await w.alice.call(
      w.token,
      "storage_deposit",
      { registration_only: true },
      { attachedDeposit: NEAR },
    );
    t.deepEqual(balance, { total: bounds.min, available: "0" });
    const spent = before - BigInt((await w.alice.accountView()).amount);
    t.true(spent >= BigInt(bounds.min) && spent < BigInt(bounds.min) + NEAR / 100n, `spent ${spent}`);
    t.deepEqual(await w.token.view("storage_balance_of", { account_id: w.alice.accountId }), balance);
    // Someone else pays for bob's registration.
    await w.alice.call(
      w.token,
      "storage_deposit",
      { account_id: w.bob.accountId },
      { attachedDeposit: NEAR },
    );
    t.truthy(await w.token.view("storage_balance_of", { account_id: w.bob.accountId }));
    // Already registered: the whole deposit comes back.
    const before2 = BigInt((await w.alice.accountView()).amount);
    await w.alice.call(w.token, "storage_deposit", {}, { attachedDeposit: NEAR });
    t.true(before2 - BigInt((await w.alice.accountView()).amount) < NEAR / 100n);
    await panics(
      t,
      w.alice.call(w.token, "storage_deposit", { account_id: w.token.accountId }, { attachedDeposit: NEAR }),
      "cannot be registered",
    );
  },
);

test.serial("NEP-145: storage_withdraw and storage_unregister (force burns, emits ft_burn)", async (t) => {
  const w = await world(t);
  await transfer(w, w.owner, w.alice, 40n);
  await panics(t, w.alice.call(w.token, "storage_withdraw", {}), "exactly 1 yoctoNEAR");
  await panics(
    t,
    w.alice.call(w.token, "storage_withdraw", { amount: "1" }, { attachedDeposit: ONE_YOCTO }),
    "greater than the available storage balance",
  );
  t.like(await w.alice.call(w.token, "storage_withdraw", {}, { attachedDeposit: ONE_YOCTO }), {
    available: "0",
  });
  await panics(
    t,
    w.alice.call(w.token, "storage_unregister", {}, { attachedDeposit: ONE_YOCTO }),
    "positive balance without force",
  );
  const result = await w.alice.callRaw(
    w.token,
    "storage_unregister",
    { force: true },
    { attachedDeposit: ONE_YOCTO },
  );
  t.is(result.parseResult(), true);
  t.like(eventsOf(result.logs)[0], {
    event: "ft_burn",
    data: [{ owner_id: w.alice.accountId, amount: "40" }],
  });
  t.is(await w.token.view("ft_total_supply"), (TOTAL_SUPPLY - 40n).toString());
  t.is(await w.token.view("storage_balance_of", { account_id: w.alice.accountId }), null);
  t.is(await w.alice.call(w.token, "storage_unregister", {}, { attachedDeposit: ONE_YOCTO }), false);
  // bob has no tokens: unregistering needs no force.
  t.is(await w.bob.call(w.token, "storage_unregister", {}, { attachedDeposit: ONE_YOCTO }), true);
  await panics(
    t,
    w.owner.call(w.token, "storage_unregister", { force: true }, { attachedDeposit: ONE_YOCTO }),
    "operator account cannot unregister",
  );
});

test.serial(
  "buy_tokens_for_near mints at the owner's price, refunds the remainder, emits ft_mint",
  async (t) => {
    const w = await world(t);
    await panics(
      t,
      w.alice.call(w.token, "buy_tokens_for_near", {}, { attachedDeposit: NEAR }),
      "sale is disabled",
    );
    const price = 10n ** 18n; // yoctoNEAR per token unit
    await w.owner.call(w.token, "set_token_price", { price: price.toString() });
    t.is(await w.token.view("get_token_price"), price.toString());
    const before = BigInt((await w.alice.accountView()).amount);
    const result = await w.alice.callRaw(
      w.token,
      "buy_tokens_for_near",
      {},
      { attachedDeposit: NEAR + 123n },
    );
    t.is(result.parseResult(), "1000000");
    const paid = before - BigInt((await w.alice.accountView()).amount);
    t.true(paid >= NEAR && paid < NEAR + NEAR / 100n, `paid ${paid}`);
    t.like(eventsOf(result.logs)[0], {
      event: "ft_mint",
      data: [{ owner_id: w.alice.accountId, amount: "1000000" }],
    });
    t.is(await balanceOf(w.token, w.alice), 1_000_000n);
    t.is(await w.token.view("ft_total_supply"), (TOTAL_SUPPLY + 1_000_000n).toString());
    await panics(
      t,
      w.alice.call(w.token, "buy_tokens_for_near", {}, { attachedDeposit: price - 1n }),
      "Attach at least",
    );
    const stranger = await newAccount(t.context.root, "stranger");
    await panics(
      t,
      stranger.call(w.token, "buy_tokens_for_near", {}, { attachedDeposit: NEAR }),
      "is not registered",
    );
  },
);

test.serial(
  "owner methods update the config views; the old owner loses its rights after set_owner",
  async (t) => {
    const w = await world(t);
    const signer = "0xAbCdEf0123456789aBcDeF0123456789ABCDEF01";
    await w.owner.call(w.token, "set_refund_signers", { signers: [signer, signer.toLowerCase()] });
    t.deepEqual(await w.token.view("get_refund_signers"), [signer.toLowerCase()]);
    await panics(
      t,
      w.owner.call(w.token, "set_refund_signers", { signers: ["0x1234"] }),
      "invalid signer address",
    );
    await panics(
      t,
      w.owner.call(w.token, "set_operator", { operator_id: "nobody.test.near" }),
      "is not registered",
    );
    await panics(
      t,
      w.owner.call(w.token, "set_operator", { operator_id: w.token.accountId }),
      "operator_id cannot be the token contract itself",
    );
    await w.owner.call(w.token, "set_operator", { operator_id: w.bob.accountId });
    await w.owner.call(w.token, "set_token_price", { price: "7" });
    await w.owner.call(w.token, "set_web4_config", {
      proxy_url: "http://127.0.0.1:8787",
      network: "localnet",
    });
    const config = await w.token.view<Record<string, unknown>>("get_config");
    t.like(config, {
      owner_id: w.owner.accountId,
      operator_id: w.bob.accountId,
      token_price: "7",
      refund_signers: [signer.toLowerCase()],
      total_supply: TOTAL_SUPPLY.toString(),
      escrow_total: "0",
      web4: { proxy_url: "http://127.0.0.1:8787", network: "localnet", rpc_url: "" },
    });
    t.true(BigInt(config.storage_balance_min as string) > 0n);
    t.true(BigInt(config.conversation_deposit_max as string) > 1n);
    t.is(await w.token.view("get_operator"), w.bob.accountId);
    await w.owner.call(w.token, "set_owner", { owner_id: w.alice.accountId });
    t.is(await w.token.view("get_owner"), w.alice.accountId);
    await panics(t, w.owner.call(w.token, "set_token_price", { price: "1" }), "Only the owner");
    await w.alice.call(w.token, "set_token_price", { price: "1" });
    t.is(await w.token.view("get_token_price"), "1");
  },
);

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString("utf8");

test.serial(
  "web4_get serves the posted bundle, SPA fallback, generated /config.json, chunked uploads",
  async (t) => {
    const w = await world(t);
    const get = (path: string) =>
      w.token.view<{ contentType: string; body: string; status?: number }>("web4_get", {
        request: { accountId: w.alice.accountId, path },
      });
    t.is((await get("/")).status, 404);
    const html = "<!doctype html><title>chat</title>";
    await w.owner.call(w.token, "post_web4_bundle", {
      assets: {
        "/index.html": { contentType: "text/html; charset=utf-8", body: b64(html) },
        "/assets/app.js": { contentType: "text/javascript", body: b64("console.log(1);") },
      },
    });
    t.deepEqual(await get("/"), { contentType: "text/html; charset=utf-8", body: b64(html) });
    t.deepEqual(await get("/assets/app.js?v=2"), {
      contentType: "text/javascript",
      body: b64("console.log(1);"),
    });
    t.is(unb64((await get("/conversation/abc")).body), html, "unknown path -> index.html");
    // A large asset in chunks of whole base64 quanta.
    const big = "x".repeat(3000);
    const encoded = b64(big);
    await w.owner.call(w.token, "post_web4_bundle", {
      assets: { "/big.txt": { contentType: "text/plain", body: encoded.slice(0, 2000) } },
    });
    await w.owner.call(w.token, "post_web4_bundle", {
      assets: { "/big.txt": { contentType: "text/plain", body: encoded.slice(2000), append: true } },
    });
    t.is(unb64((await get("/big.txt")).body), big);
    await w.owner.call(w.token, "set_web4_config", {
      proxy_url: "http://127.0.0.1:8787",
      network: "localnet",
      rpc_url: "http://127.0.0.1:3030",
    });
    const config = await get("/config.json");
    t.is(config.contentType, "application/json");
    t.deepEqual(JSON.parse(unb64(config.body)), {
      contract_id: w.token.accountId,
      network: "localnet",
      proxy_url: "http://127.0.0.1:8787",
      rpc_url: "http://127.0.0.1:3030",
    });
    // reset replaces the whole bundle.
    await w.owner.call(w.token, "post_web4_bundle", {
      assets: { "/index.html": { contentType: "text/html", body: b64("v2") } },
      reset: true,
    });
    t.is(unb64((await get("/assets/app.js")).body), "v2", "removed asset falls back to index.html");
    t.deepEqual((await w.token.view<{ web4_paths: string[] }>("get_config")).web4_paths, ["/index.html"]);
    await panics(
      t,
      w.owner.call(w.token, "post_web4_bundle", {
        assets: { "/x": { contentType: "text/plain", body: "not base64!" } },
      }),
      "body must be base64",
    );
    await panics(
      t,
      w.owner.call(w.token, "post_web4_bundle", { assets: { x: { contentType: "text/plain", body: "" } } }),
      "must start with /",
    );
  },
);
