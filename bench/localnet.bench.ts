// localnet benchmark: near-workspaces Worker.init -> ready, and near-sdk-js function-call throughput
// through JSON-RPC (signed transactions from several accounts in parallel, as a busy dapp sends them).
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
import { builtContract } from "../test/helpers/contracts.js";
import { useLocalnet } from "../test/helpers/localnet.js";

const { Worker } = nearWorkspaces;
const READY_TARGET_MS = 500;
const TPS_TARGET = 100;
const SENDERS = 8;
const CALLS_PER_SENDER = 40;

useLocalnet();
const contractPath = await builtContract("status");

const readyTimes: number[] = [];
for (let i = 0; i < 3; i++) {
  const start = performance.now();
  const worker = await Worker.init();
  readyTimes.push(performance.now() - start);
  await worker.tearDown();
}
readyTimes.sort((a, b) => a - b);
const ready = readyTimes[1] as number;

const worker = await Worker.init();
try {
  const rootKey = (await worker.rootAccount.getKey())?.toString() as `ed25519:${string}`;
  const provider = new JsonRpcProvider({ url: (worker as unknown as { rpcAddr: string }).rpcAddr });
  const root = new Account("test.near", provider, rootKey);
  const contractKey = KeyPair.fromRandom("ed25519");
  await root.createSubAccount({
    accountOrPrefix: "bench",
    publicKey: contractKey.getPublicKey(),
    nearToTransfer: nearToYocto("50"),
  });
  const contract = new Account("bench.test.near", provider, contractKey.toString() as `ed25519:${string}`);
  await contract.deployContract(readFileSync(contractPath));

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
  // Warm-up: the first call loads the contract runtime.
  await senders[0]?.callFunctionRaw({
    contractId: contract.accountId,
    methodName: "set_status",
    args: { message: "warm" },
  });

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
  const seconds = (performance.now() - start) / 1000;
  const calls = SENDERS * CALLS_PER_SENDER;
  const clientTps = calls / seconds;

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
  const rpcUrl = (worker as unknown as { rpcAddr: string }).rpcAddr;
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
  const tps = calls / ((performance.now() - nodeStart) / 1000);

  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
  console.log(`localnet bench (near-workspaces + localnet near-sandbox executable)`);
  console.log(
    `  Worker.init -> ready: ${ready.toFixed(0)} ms median of 3 [${readyTimes.map((r) => r.toFixed(0)).join(", ")}]` +
      ` (target <= ${READY_TARGET_MS} ms) ${verdict(ready <= READY_TARGET_MS)}`,
  );
  console.log(
    `  function calls, node throughput (pre-signed send_tx, ${SENDERS} senders in parallel): ${tps.toFixed(0)} tx/s` +
      ` (target >= ${TPS_TARGET} tx/s) ${verdict(tps >= TPS_TARGET)}`,
  );
  console.log(
    `  function calls, end to end with near-api-js 7 Account.callFunction (signing + 3 RPCs per call): ${clientTps.toFixed(0)} tx/s` +
      ` (${calls} calls in ${seconds.toFixed(2)} s; informational)`,
  );
} finally {
  await worker.tearDown();
}
