// Per-call cost of localnet's contract VM: snapshot fast path vs fresh-context path, on the
// near-sdk-js status contract (test/contracts/status.ts). Run: npx tsx bench/vm.bench.ts
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { type ContractRuntime, createContractRuntimeWithOptions, type VMContext } from "#localnet/vm";
import { builtContract } from "#test/helpers/contracts";

const code = readFileSync(await builtContract("status"));
const enc = new TextEncoder();
const N = Number(process.env.N ?? 300);

function harness(runtime: ContractRuntime) {
  const state = new Map<string, Uint8Array>();
  let height = 0n;
  return (methodName: string, args: unknown, isView = false) => {
    height += 1n;
    const context: VMContext = {
      currentAccountId: "status.test.near",
      signerAccountId: "alice.test.near",
      signerAccountPk: new Uint8Array(33),
      predecessorAccountId: "alice.test.near",
      input: enc.encode(JSON.stringify(args)),
      blockHeight: height,
      blockTimestamp: 1_700_000_000_000_000_000n + height * 1_000_000_000n,
      epochHeight: 1n,
      accountBalance: 10n ** 25n,
      accountLockedBalance: 0n,
      storageUsage: 100n,
      attachedDeposit: 0n,
      prepaidGas: 300n * 10n ** 12n,
      randomSeed: createHash("sha256").update(`seed${height}`).digest(),
      isView,
      promiseResults: [],
    };
    const out = runtime.run({
      code,
      codeHash: "status-bench",
      methodName,
      context,
      storage: { get: (key) => state.get(Buffer.from(key).toString("hex")) },
    });
    if (out.error) throw new Error(out.error.message);
    if (!isView)
      for (const c of out.stateChanges) state.set(Buffer.from(c.key).toString("hex"), c.value as Uint8Array);
    return out;
  };
}

function measure(label: string, call: () => unknown): number {
  for (let i = 0; i < 20; i++) call();
  const start = performance.now();
  for (let i = 0; i < N; i++) call();
  const ms = (performance.now() - start) / N;
  console.log(`${label.padEnd(34)} ${ms.toFixed(3)} ms/call`);
  return ms;
}

const results: Record<string, number> = {};
for (const [name, snapshots] of [
  ["fresh context", false],
  ["snapshot", true],
] as const) {
  const run = harness(createContractRuntimeWithOptions({ snapshots }));
  run("init", { owner: "bob.test.near" });
  let i = 0;
  results[`${name} set_status`] = measure(`${name}: set_status`, () =>
    run("set_status", { message: `m${i++}` }),
  );
  results[`${name} get_status`] = measure(`${name}: get_status (view)`, () =>
    run("get_status", { account_id: "alice.test.near" }, true),
  );
}
for (const method of ["set_status", "get_status"]) {
  const ratio = (results[`fresh context ${method}`] ?? 0) / (results[`snapshot ${method}`] ?? 1);
  console.log(`${method}: snapshot is ${ratio.toFixed(1)}x faster`);
}
console.log(`(${(code.length / 1024).toFixed(0)} KB bundle, ${N} calls each, after 20 warm-up calls)`);
