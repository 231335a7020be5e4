// near-sdk-js collections (UnorderedMap, UnorderedSet, Vector, LookupSet) and an NEP-171 ledger with
// near-contract-standards' storage layout, on localnet: their keys hold NUL bytes, so before the host
// boundary kept strings whole their entries collided (Vector index 256 overwrote index 0, every
// owner's token set shared one index key). The same suite runs on the JS bundle and on the WASM.
import { readFileSync } from "node:fs";
import test from "ava";
import { createContractRuntime, type VMOutcome } from "#localnet/vm";
import { builtContract, contractWasm } from "./helpers/contracts.js";
import { DeployedContract, returnedJson as json } from "./helpers/vm-harness.js";

const runtime = createContractRuntime();

/** The artifacts the suite runs on: the JS bundle and the WASM that would be deployed on chain. */
const ARTIFACTS: [string, () => Promise<string>][] = [
  ["js", () => builtContract("collections")],
  ["wasm", () => contractWasm("collections")],
];

function ok(out: VMOutcome): VMOutcome {
  if (out.error) throw new Error(`call failed: ${out.error.message}`);
  return out;
}

for (const [artifact, build] of ARTIFACTS) {
  const deploy = async () =>
    new DeployedContract(
      runtime,
      readFileSync(await build()),
      "collections.test.near",
      `collections-${artifact}`,
    );

  test(`${artifact}: UnorderedMap keeps keys and values that differ after a NUL apart`, async (t) => {
    const c = await deploy();
    ok(c.run("map_set", { key: "a\0b", value: "first\0one" }));
    ok(c.run("map_set", { key: "a\0c", value: "second" }));
    ok(c.run("map_set", { key: "a", value: "third" }));
    t.is(json(c.view("map_get", { key: "a\0b" })), "first\0one");
    t.is(json(c.view("map_get", { key: "a\0c" })), "second");
    t.is(json(c.view("map_get", { key: "a" })), "third");
    t.deepEqual(json(c.view("map_entries")), [
      ["a\0b", "first\0one"],
      ["a\0c", "second"],
      ["a", "third"],
    ]);
    t.is(json(ok(c.run("map_remove", { key: "a\0b" }))), "first\0one");
    t.deepEqual(json(c.view("map_entries")), [
      ["a", "third"],
      ["a\0c", "second"],
    ]);
    // The storage key is the prefix and the whole key, NUL included.
    t.true(c.state.has(Buffer.from("mma\0c").toString("hex")));
  });

  test(`${artifact}: UnorderedSets and LookupSets whose prefixes differ after a NUL stay apart`, async (t) => {
    const c = await deploy();
    // Set "a" lives under "s\0a…", set "b" under "s\0b…".
    for (const element of ["x", "x\0", "y"])
      t.true(json(ok(c.run("set_add", { which: "a", element }))) as boolean);
    for (const element of ["x", "z"]) t.true(json(ok(c.run("set_add", { which: "b", element }))) as boolean);
    t.false(json(ok(c.run("set_add", { which: "a", element: "x\0" }))) as boolean, "already there");
    t.deepEqual(json(c.view("set_elements", { which: "a" })), ["x", "x\0", "y"]);
    t.deepEqual(json(c.view("set_elements", { which: "b" })), ["x", "z"]);
    t.true(json(ok(c.run("set_remove", { which: "a", element: "x" }))) as boolean);
    t.deepEqual(json(c.view("set_elements", { which: "a" })), ["y", "x\0"]);
    t.true(json(c.view("set_contains", { which: "b", element: "x" })) as boolean);
    t.false(json(c.view("set_contains", { which: "a", element: "x" })) as boolean);
    t.false(json(c.view("set_contains", { which: "b", element: "y" })) as boolean);

    t.true(json(ok(c.run("lookup_add", { prefix: "l\0a", key: "k" }))) as boolean);
    t.true(json(c.view("lookup_contains", { prefix: "l\0a", key: "k" })) as boolean);
    t.false(json(c.view("lookup_contains", { prefix: "l\0b", key: "k" })) as boolean);
    t.false(json(c.view("lookup_contains", { prefix: "l", key: "k" })) as boolean);
  });

  test(`${artifact}: Vector indices past 255 do not overwrite the first ones`, async (t) => {
    const c = await deploy();
    // Index keys are 4 little-endian bytes: 256 is "\x00\x01\x00\x00", 0 is four NULs.
    ok(c.run("vec_push_range", { label: "v", from: 0, to: 150 }));
    t.is(json(ok(c.run("vec_push_range", { label: "v", from: 150, to: 300 }))), 300);
    for (const index of [0, 1, 255, 256, 257, 299]) t.is(json(c.view("vec_get", { index })), `v${index}`);
    t.is(json(c.view("vec_len")), 300);
    t.is(c.state.size, 300 + 1, "one record per element, plus STATE");
  });

  test(`${artifact}: NFT tokens per owner (near-contract-standards' "\\x00"-prefixed sets) stay per owner`, async (t) => {
    const c = await deploy();
    const alice = "alice.test.near";
    const bob = "bob.test.near";
    ok(c.run("nft_mint", { token_id: "t1", owner_id: alice }));
    ok(c.run("nft_mint", { token_id: "t2", owner_id: bob }));
    ok(c.run("nft_mint", { token_id: "t3", owner_id: alice }));
    t.deepEqual(json(c.view("nft_tokens_for_owner", { account_id: alice })), ["t1", "t3"]);
    t.deepEqual(json(c.view("nft_tokens_for_owner", { account_id: bob })), ["t2"]);
    t.is(json(c.view("nft_supply_for_owner", { account_id: alice })), "2");
    t.is(json(c.view("nft_total_supply")), "3");

    ok(c.run("nft_transfer", { receiver_id: bob, token_id: "t1" }, { predecessorAccountId: alice }));
    t.deepEqual(json(c.view("nft_tokens_for_owner", { account_id: alice })), ["t3"]);
    t.deepEqual(json(c.view("nft_tokens_for_owner", { account_id: bob })), ["t2", "t1"]);
    t.deepEqual(json(c.view("nft_token", { token_id: "t1" })), { token_id: "t1", owner_id: bob });
    t.regex(
      c.run("nft_transfer", { receiver_id: alice, token_id: "t2" }, { predecessorAccountId: alice }).error
        ?.message ?? "",
      /Unauthorized/,
    );
    // The per-owner sets really live under keys that start with NUL.
    const nulKeys = [...c.state.keys()].filter((k) => k.startsWith("00"));
    t.true(nulKeys.length >= 4, `${nulKeys.length} keys start with \\x00`);
  });
}
