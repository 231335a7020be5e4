// `localnet start` keeps its chain in the home dir: a restart on the same dir sees the same state.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from "near-api-js";
import { builtContract } from "./helpers/contracts.js";
import { projectRoot } from "./helpers/localnet.js";

const cli = join(projectRoot, "localnet", "dist", "localnet.mjs");

async function startCli(home: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, "start", "--home", home, "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /localnet RPC:\s+(\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`localnet exited with ${code}: ${output}`)));
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = once(child, "exit");
  child.kill("SIGINT");
  const [code] = await exited;
  if (code !== 0) throw new Error(`localnet exited with ${code}`);
}

test("state survives a restart of `localnet start` on the same home dir", async (t) => {
  const home = mkdtempSync(join(tmpdir(), "localnet-persist-"));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));

  const first = await startCli(home);
  const rootKey = JSON.parse(readFileSync(join(home, "validator_key.json"), "utf8")).secret_key;
  let provider = new JsonRpcProvider({ url: first.url });
  let root = new Account("test.near", provider, rootKey);
  const key = KeyPair.fromRandom("ed25519");
  await root.createSubAccount({
    accountOrPrefix: "kept",
    publicKey: key.getPublicKey(),
    nearToTransfer: nearToYocto("20"),
  });
  const kept = new Account("kept.test.near", provider, key.toString() as `ed25519:${string}`);
  await kept.deployContract(readFileSync(await builtContract("status")));
  const call = await root.callFunctionRaw({
    contractId: "kept.test.near",
    methodName: "set_status",
    args: { message: "persisted" },
  });
  const heightBefore = (await provider.viewBlock({ finality: "final" })).header.height;
  const balanceBefore = (await kept.getState()).balance.total;
  await stop(first.child);

  const second = await startCli(home);
  t.teardown(() => second.child.kill("SIGKILL"));
  provider = new JsonRpcProvider({ url: second.url });
  root = new Account("test.near", provider, rootKey);
  t.true((await provider.viewBlock({ finality: "final" })).header.height >= heightBefore);
  t.is((await new Account("kept.test.near", provider).getState()).balance.total, balanceBefore);
  t.is(
    await provider.callFunction({
      contractId: "kept.test.near",
      method: "get_status",
      args: { account_id: "test.near" },
    }),
    "persisted",
  );
  const status = await provider.viewTransactionStatus({
    txHash: call.transaction.hash,
    accountId: "test.near",
  });
  t.deepEqual(status.status, call.status);
  // Nonces survived too: the same key keeps working after the restart.
  await root.transfer({ receiverId: "kept.test.near", amount: 1n });
  await stop(second.child);
});
