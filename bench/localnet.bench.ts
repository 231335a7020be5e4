// localnet benchmark: near-workspaces Worker.init -> ready, and near-sdk-js function-call throughput
// through JSON-RPC (signed transactions from several accounts in parallel, as a busy dapp sends them),
// for the same contract (test/contracts/status.ts) as the WASM a chain runs and as the JS bundle of
// localnet's fast mode, in the same run: the WASM path's numbers are printed beside the JS path's.
import { readFileSync } from "node:fs";
import bs58 from "bs58";
import {
  Account,
  actions,
  createTransaction,
  encodeTransaction,
  JsonRpcProvider,
  KeyPair,
  KeyPairSigner,
  nearToYocto,
  teraToGas,
} from "near-api-js";
import nearWorkspaces from "near-workspaces";
import { builtContract, contractWasm } from "#test/helpers/contracts";
import { useLocalnet } from "#test/helpers/localnet";

const { Worker } = nearWorkspaces;
const READY_TARGET_MS = 500;
const TPS_TARGET = 100;
const SENDERS = 8;
const CALLS_PER_SENDER = 40;

useLocalnet();
const artifacts = { js: await builtContract("status"), wasm: await contractWasm("status") };

/** Worker.init until the node answers, then the first call on a freshly deployed contract. */
async function ready(path: string): Promise<{ ready: number; firstCall: number }> {
  const start = performance.now();
  const worker = await Worker.init();
  const ready = performance.now() - start;
  try {
    const contract = await worker.rootAccount.devDeploy(path);
    const callStart = performance.now();
    await worker.rootAccount.call(contract, "set_status", { message: "first" });
    return { ready, firstCall: performance.now() - callStart };
  } finally {
    await worker.tearDown();
  }
}

interface Throughput {
  /** Pre-signed send_tx, SENDERS in parallel: the node alone. */
  node: number;
  /** near-api-js 7 Account.callFunction: signing plus three RPCs per call. */
  client: number;
}

async function throughput(path: string): Promise<Throughput> {
  const worker = await Worker.init();
  try {
    const rpcUrl = (worker as unknown as { rpcAddr: string }).rpcAddr;
    const rootKey = (await worker.rootAccount.getKey())?.toString() as `ed25519:${string}`;
    const provider = new JsonRpcProvider({ url: rpcUrl });
    const root = new Account("test.near", provider, rootKey);
    const contractKey = KeyPair.fromRandom("ed25519");
    await root.createSubAccount({
      accountOrPrefix: "bench",
      publicKey: contractKey.getPublicKey(),
      nearToTransfer: nearToYocto("50"),
    });
    const contract = new Account("bench.test.near", provider, contractKey.toString() as `ed25519:${string}`);
    await contract.deployContract(readFileSync(path));

    const senders: Account[] = [];
    const keys: KeyPair[] = [];
    for (let i = 0; i < SENDERS; i++) {
      const key = KeyPair.fromRandom("ed25519");
      await root.createSubAccount({
        accountOrPrefix: `s${i}`,
        publicKey: key.getPublicKey(),
        nearToTransfer: nearToYocto("10"),
      });
      senders.push(new Account(`s${i}.test.near`, provider, key.toString() as `ed25519:${string}`));
      keys.push(key);
    }
    // Warm-up: the first calls load the runtime and compile the contract (V8 tiers WASM up).
    for (let i = 0; i < 10; i++) {
      await senders[0]?.callFunctionRaw({
        contractId: contract.accountId,
        methodName: "set_status",
        args: { message: `warm${i}` },
      });
    }

    const start = performance.now();
    await Promise.all(
      senders.map(async (sender, s) => {
        for (let i = 0; i < CALLS_PER_SENDER; i++) {
          await sender.callFunction({
            contractId: contract.accountId,
            methodName: "set_status",
            args: { message: `m${s}-${i}` },
          });
        }
      }),
    );
    const calls = SENDERS * CALLS_PER_SENDER;
    const client = calls / ((performance.now() - start) / 1000);

    // The node alone: the same calls signed beforehand, so client-side signing and the extra
    // block/access-key queries near-api-js makes per call do not compete for the same 2 cores.
    const block = await provider.viewBlock({ finality: "final" });
    const blockHash = bs58.decode(block.header.hash);
    const presigned: string[][] = [];
    for (const [s, sender] of senders.entries()) {
      const key = keys[s] as KeyPair;
      const signer = new KeyPairSigner(key);
      const { nonce } = await provider.viewAccessKey({
        accountId: sender.accountId,
        publicKey: key.getPublicKey(),
      });
      const list: string[] = [];
      for (let i = 1; i <= CALLS_PER_SENDER; i++) {
        const call = actions.functionCall("set_status", { message: `p${s}-${i}` }, teraToGas(30), 0n);
        const tx = createTransaction(
          sender.accountId,
          key.getPublicKey(),
          contract.accountId,
          nonce + BigInt(i),
          [call],
          blockHash,
        );
        const { signedTransaction } = await signer.signTransaction(tx);
        list.push(Buffer.from(encodeTransaction(signedTransaction)).toString("base64"));
      }
      presigned.push(list);
    }
    const nodeStart = performance.now();
    await Promise.all(
      presigned.map(async (list) => {
        for (const signed of list) {
          const res = await fetch(rpcUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              jsonrpc: "2.0",
              id: 1,
              method: "send_tx",
              params: { signed_tx_base64: signed, wait_until: "EXECUTED_OPTIMISTIC" },
            }),
          });
          const body = (await res.json()) as { result?: { status: Record<string, unknown> } };
          if (!body.result || !("SuccessValue" in body.result.status))
            throw new Error(`call failed: ${JSON.stringify(body)}`);
        }
      }),
    );
    return { node: calls / ((performance.now() - nodeStart) / 1000), client };
  } finally {
    await worker.tearDown();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const results: Record<keyof typeof artifacts, { ready: number[]; firstCall: number[]; tps?: Throughput }> = {
  js: { ready: [], firstCall: [] },
  wasm: { ready: [], firstCall: [] },
};
// Alternated, so that both paths see the same machine load.
for (let i = 0; i < 3; i++) {
  for (const kind of ["js", "wasm"] as const) {
    const r = await ready(artifacts[kind]);
    results[kind].ready.push(r.ready);
    results[kind].firstCall.push(r.firstCall);
  }
}
for (const kind of ["js", "wasm"] as const) results[kind].tps = await throughput(artifacts[kind]);

const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
const ms = (xs: number[]) =>
  `${median(xs).toFixed(0)} ms median of 3 [${xs.map((x) => x.toFixed(0)).join(", ")}]`;
console.log(
  "localnet bench (near-workspaces + localnet near-sandbox executable), status.ts as WASM and as JS",
);
for (const kind of ["wasm", "js"] as const) {
  const r = results[kind];
  const tps = r.tps as Throughput;
  console.log(`${kind === "wasm" ? "WASM (what a chain runs)" : "JS bundle (fast mode)"}:`);
  console.log(
    `  Worker.init -> ready: ${ms(r.ready)} (target <= ${READY_TARGET_MS} ms) ${verdict(median(r.ready) <= READY_TARGET_MS)}`,
  );
  console.log(`  first call on a fresh node (runtime load + compile): ${ms(r.firstCall)}`);
  console.log(
    `  function calls, node throughput (pre-signed send_tx, ${SENDERS} senders in parallel): ${tps.node.toFixed(0)} tx/s` +
      ` (target >= ${TPS_TARGET} tx/s) ${verdict(tps.node >= TPS_TARGET)}`,
  );
  console.log(
    `  function calls, end to end with near-api-js 7 Account.callFunction: ${tps.client.toFixed(0)} tx/s (informational)`,
  );
}
const js = results.js.tps as Throughput;
const wasm = results.wasm.tps as Throughput;
console.log(
  `WASM / JS: node throughput ${(wasm.node / js.node).toFixed(2)}x, end to end ${(wasm.client / js.client).toFixed(2)}x, ` +
    `first call ${(median(results.wasm.firstCall) / median(results.js.firstCall)).toFixed(2)}x the time`,
);
