// The 0G upstream adapter against the local 0G network (real contracts, local provider, real SDK).
import test from "ava";
import { parseEther } from "ethers";
import { createZeroGUpstream, type ZeroGUpstream } from "#internal/proxy/upstreams/0g/index";
import { UpstreamError } from "#internal/proxy/upstreams/types";
import {
  type Local0g,
  ledgerOf as ledgerOfWallet,
  readSse,
  startLocal0g,
  subAccountOf,
} from "./helpers/zerog.js";

let zg: Local0g;
test.before(async () => {
  zg = await startLocal0g();
});
test.after.always(async () => {
  await zg?.close();
});

function adapter(
  privateKey: string,
  extra: Partial<Parameters<typeof createZeroGUpstream>[0]> = {},
): ZeroGUpstream {
  return createZeroGUpstream({
    name: "0g-test",
    network: "local",
    rpcUrl: zg.rpcUrl,
    privateKey,
    gasPrice: 1_000_000_000n,
    probeTimeoutMs: 2_000,
    ...extra,
  });
}

const signal = () => AbortSignal.timeout(30_000);

const ledgerOf = (addr: string) => ledgerOfWallet(zg, addr);
const subAccount = (user: string, provider: string) => subAccountOf(zg, user, provider);

test.serial(
  "non-streaming: model name → provider, usage, processResponse verifies, fee settles to the wei",
  async (t) => {
    const user = await zg.newFundedWallet(parseEther("50"));
    const up = adapter(user.privateKey, { ledgerTopUp: parseEther("10") });
    try {
      const models = await up.listModels();
      t.true(models.some((m) => m.id === zg.model));
      t.false(models.some((m) => m.id.endsWith("-unacknowledged")));

      const call = await up.chat({
        body: { model: zg.model, messages: [{ role: "user", content: "one two three" }] },
        signal: signal(),
      });
      t.is(call.response.status, 200);
      const json = (await call.response.json()) as {
        id: string;
        usage: { prompt_tokens: number; completion_tokens: number };
        choices: { message: { content: string } }[];
      };
      t.is(json.choices[0]?.message.content, "Echo: one two three");
      t.deepEqual(json.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
      t.truthy(call.response.headers.get("ZG-Res-Key"));
      await call.finish?.({ id: json.id, usage: json.usage, headers: call.response.headers });
      t.is(up.stats.processed, 1);
      t.is(up.stats.verified, 1, "TEE signature of the response verified by the SDK");
      const fee = 3n * zg.inputPrice + 4n * zg.outputPrice;
      t.is(up.stats.feesWei, fee);
      t.is(zg.provider.unsettled.get(user.address.toLowerCase()), fee);

      const before = await subAccount(user.address, zg.provider.address);
      const ledgerBefore = await ledgerOf(user.address);
      const settled = await zg.provider.settle();
      t.is(settled.get(user.address.toLowerCase()), fee);
      const after = await subAccount(user.address, zg.provider.address);
      t.is(before.balance - after.balance, fee);
      const ledgerAfter = await ledgerOf(user.address);
      t.is(
        (ledgerBefore?.total ?? 0n) - (ledgerAfter?.total ?? 0n),
        fee,
        "the ledger's total drops by exactly the fee",
      );
    } finally {
      await up.close();
    }
  },
);

test.serial(
  "streaming: SSE passes through in OpenAI format with a usage chunk; a 0x address picks the provider",
  async (t) => {
    const user = await zg.newFundedWallet(parseEther("50"));
    const up = adapter(user.privateKey, { ledgerTopUp: parseEther("5") });
    try {
      const call = await up.chat({
        body: {
          model: zg.provider.address,
          stream: true,
          stream_options: { include_usage: true },
          messages: [
            { role: "system", content: "be brief" },
            { role: "user", content: "hello streaming world" },
          ],
        },
        signal: signal(),
      });
      t.is(call.response.status, 200);
      t.regex(call.response.headers.get("content-type") ?? "", /text\/event-stream/);
      const events = await readSse(call.response);
      t.is(events.at(-1), "[DONE]");
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
      t.true(chunks.every((c) => c.object === "chat.completion.chunk"));
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
      t.is(text, "Echo: hello streaming world");
      const usage = chunks.at(-1).usage;
      t.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
      await call.finish?.({ id: chunks[0].id, usage, headers: call.response.headers });
      t.is(up.stats.verified, 1);
      t.is(zg.provider.unsettled.get(user.address.toLowerCase()), 5n * zg.inputPrice + 4n * zg.outputPrice);
    } finally {
      await up.close();
    }
  },
);

async function snapshot(addr: string, provider: string) {
  return {
    wallet: await zg.rpc.getBalance(addr),
    nonce: await zg.rpc.getTransactionCount(addr),
    ledger: await ledgerOf(addr),
    sub: await subAccount(addr, provider),
  };
}

test.serial("empty ledger, no auto top-up → 402, nothing sent or spent", async (t) => {
  const user = await zg.newFundedWallet(parseEther("50"));
  const up = adapter(user.privateKey, { ledgerTopUp: 0n });
  try {
    const before = await snapshot(user.address, zg.provider.address);
    const err = await t.throwsAsync(
      up.chat({ body: { model: zg.model, messages: [{ role: "user", content: "hi" }] }, signal: signal() }),
    );
    t.true(err instanceof UpstreamError);
    t.is((err as UpstreamError).status, 402);
    t.is((err as UpstreamError).code, "insufficient_ledger_balance");
    t.deepEqual(await snapshot(user.address, zg.provider.address), before);
  } finally {
    await up.close();
  }
});

test.serial("auto top-up: an empty ledger is funded from the wallet and the request succeeds", async (t) => {
  const user = await zg.newFundedWallet(parseEther("50"));
  const up = adapter(user.privateKey, { ledgerTopUp: parseEther("4.5"), ledgerMinBalance: parseEther("2") });
  try {
    const call = await up.chat({
      body: { model: zg.model, messages: [{ role: "user", content: "fund me" }] },
      signal: signal(),
    });
    t.is(call.response.status, 200);
    await call.response.arrayBuffer();
    const l = await ledgerOf(user.address);
    t.is(l?.total, parseEther("4.5"), "one deposit of exactly ledger_top_up");
    const sub = await subAccount(user.address, zg.provider.address);
    t.is(sub.balance, parseEther("2"), "sub-account funded to buffer × 1 0G");
    t.is(l?.available, parseEther("2.5"));
    t.is(up.stats.topUps, 1);
  } finally {
    await up.close();
  }
});

test.serial("unacknowledged provider → 503 provider_unacknowledged, nothing spent", async (t) => {
  const user = await zg.newFundedWallet(parseEther("50"));
  const up = adapter(user.privateKey, { ledgerTopUp: parseEther("10") });
  try {
    const before = await snapshot(user.address, zg.unacknowledgedProvider.address);
    for (const model of [zg.unacknowledgedProvider.address, `${zg.model}-unacknowledged`]) {
      const err = await t.throwsAsync(
        up.chat({ body: { model, messages: [{ role: "user", content: "hi" }] }, signal: signal() }),
      );
      t.is((err as UpstreamError).status, 503);
      t.is((err as UpstreamError).code, "provider_unacknowledged");
    }
    t.deepEqual(await snapshot(user.address, zg.unacknowledgedProvider.address), before);
  } finally {
    await up.close();
  }
});

test.serial("provider down → 503 provider_unavailable, nothing spent", async (t) => {
  const user = await zg.newFundedWallet(parseEther("50"));
  const up = adapter(user.privateKey, { ledgerTopUp: parseEther("10") });
  try {
    const before = await snapshot(user.address, zg.downProvider.address);
    const err = await t.throwsAsync(
      up.chat({
        body: { model: zg.downProvider.model, messages: [{ role: "user", content: "hi" }] },
        signal: signal(),
      }),
    );
    t.is((err as UpstreamError).status, 503);
    t.is((err as UpstreamError).code, "provider_unavailable");
    t.true((err as UpstreamError).retryable);
    t.deepEqual(await snapshot(user.address, zg.downProvider.address), before);
  } finally {
    await up.close();
  }
});

test.serial("chain unreachable → 502 zerog_error without the key in the message", async (t) => {
  const user = await zg.newFundedWallet(0n);
  const up = createZeroGUpstream({
    network: "local",
    rpcUrl: "http://127.0.0.1:9",
    privateKey: user.privateKey,
  });
  try {
    const err = await t.throwsAsync(up.chat({ body: { model: zg.model, messages: [] }, signal: signal() }));
    t.is((err as UpstreamError).status, 502);
    t.is((err as UpstreamError).code, "zerog_error");
    t.false((err as Error).message.includes(user.privateKey.slice(2)));
  } finally {
    await up.close();
  }
});

test.serial("unknown model → 404 model_not_found", async (t) => {
  const user = await zg.newFundedWallet(parseEther("1"));
  const up = adapter(user.privateKey);
  try {
    const err = await t.throwsAsync(
      up.chat({ body: { model: "no-such-model", messages: [] }, signal: signal() }),
    );
    t.is((err as UpstreamError).status, 404);
  } finally {
    await up.close();
  }
});
