// near-api-js 7 against an in-process localnet: the client a web app or script uses, and the typed
// errors it derives from nearcore's error JSON.
import { readFileSync } from "node:fs";
import test from "ava";
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
import {
  AccessKeyDepositWithFunctionCallActionError,
  AccessKeyMethodNameMismatchActionError,
  AccountDoesNotExistError,
  ContractExecutionError,
  ContractMethodNotFoundError,
  InvalidNonceError,
  InvalidSignatureError,
} from "near-api-js/rpc-errors";
import { type Localnet, startLocalnet } from "#localnet";
import { builtContract } from "./helpers/contracts.js";

let node: Localnet;
let provider: JsonRpcProvider;
let root: Account;

test.before(async () => {
  node = await startLocalnet({});
  provider = new JsonRpcProvider({ url: node.rpcUrl });
  root = new Account("test.near", provider, node.validatorKey.secret_key as `ed25519:${string}`);
});

test.after.always(async () => {
  await node?.close();
});

async function newAccount(
  prefix: string,
  amount: `${number}` = "10",
): Promise<{ account: Account; key: KeyPair }> {
  const key = KeyPair.fromRandom("ed25519");
  await root.createSubAccount({
    accountOrPrefix: prefix,
    publicKey: key.getPublicKey(),
    nearToTransfer: nearToYocto(amount),
  });
  return {
    account: new Account(`${prefix}.test.near`, provider, key.toString() as `ed25519:${string}`),
    key,
  };
}

async function deployStatus(prefix: string): Promise<Account> {
  const { account } = await newAccount(prefix, "20");
  await account.deployContract(readFileSync(await builtContract("status")));
  return account;
}

test.serial("create account, transfer, balances", async (t) => {
  const { account: alice } = await newAccount("alice");
  const { account: bob } = await newAccount("bob", "1");
  await alice.transfer({ receiverId: bob.accountId, amount: nearToYocto("2") });
  t.is((await bob.getState()).balance.total, nearToYocto("3"));
  const state = await bob.getState();
  t.is(state.storageUsage, 182);
  t.true((await alice.getState()).balance.total < nearToYocto("8"));
});

test.serial("deploy, call and view a near-sdk-js contract", async (t) => {
  const contract = await deployStatus("status1");
  await root.callFunction({
    contractId: contract.accountId,
    methodName: "set_status",
    args: { message: "hi" },
  });
  const status = await provider.callFunction({
    contractId: contract.accountId,
    method: "get_status",
    args: { account_id: "test.near" },
  });
  t.is(status, "hi");
  const code = await contract.getContractCode();
  t.is(code.code.length, readFileSync(await builtContract("status")).length);
});

test.serial(
  "typed errors: ContractExecutionError, ContractMethodNotFoundError, AccountDoesNotExistError",
  async (t) => {
    const contract = await deployStatus("status2");
    const panic = await t.throwsAsync(
      root.callFunction({ contractId: contract.accountId, methodName: "fail", args: { message: "boom" } }),
      { instanceOf: ContractExecutionError },
    );
    t.regex(panic?.message ?? "", /Smart contract panicked: boom/);
    await t.throwsAsync(root.callFunction({ contractId: contract.accountId, methodName: "nope", args: {} }), {
      instanceOf: ContractMethodNotFoundError,
    });
    await t.throwsAsync(provider.callFunction({ contractId: contract.accountId, method: "nope", args: {} }), {
      instanceOf: ContractMethodNotFoundError,
    });
    await t.throwsAsync(provider.viewAccount({ accountId: "ghost.test.near" }), {
      instanceOf: AccountDoesNotExistError,
    });
    await t.throwsAsync(provider.callFunction({ contractId: "ghost.test.near", method: "x", args: {} }), {
      instanceOf: AccountDoesNotExistError,
    });
  },
);

test.serial("a function-call key cannot call other methods or attach a deposit", async (t) => {
  const contract = await deployStatus("status3");
  const { account: user } = await newAccount("user3");
  const limited = KeyPair.fromRandom("ed25519");
  await user.addFunctionCallAccessKey({
    publicKey: limited.getPublicKey(),
    contractId: contract.accountId,
    methodNames: ["set_status"],
    allowance: nearToYocto("0.25"),
  });
  const asLimited = new Account(user.accountId, provider, limited.toString() as `ed25519:${string}`);
  await asLimited.callFunction({
    contractId: contract.accountId,
    methodName: "set_status",
    args: { message: "ok" },
  });
  t.is(
    await provider.callFunction({
      contractId: contract.accountId,
      method: "get_status",
      args: { account_id: user.accountId },
    }),
    "ok",
  );
  await t.throwsAsync(
    asLimited.callFunction({
      contractId: contract.accountId,
      methodName: "log_something",
      args: { lines: [] },
    }),
    { instanceOf: AccessKeyMethodNameMismatchActionError },
  );
  await t.throwsAsync(
    asLimited.callFunction({
      contractId: contract.accountId,
      methodName: "set_status",
      args: { message: "paid" },
      deposit: 1n,
    }),
    { instanceOf: AccessKeyDepositWithFunctionCallActionError },
  );
});

test.serial("a reused nonce and a bad signature are rejected like nearcore rejects them", async (t) => {
  const { account: user, key } = await newAccount("user4");
  const signer = new KeyPairSigner(key);
  const accessKey = await provider.viewAccessKey({
    accountId: user.accountId,
    publicKey: key.getPublicKey(),
  });
  const block = await provider.viewBlock({ finality: "final" });
  const blockHash = (await import("bs58")).default.decode(block.header.hash);
  const sign = async (amount: bigint, nonce: bigint) => {
    const tx = createTransaction(
      user.accountId,
      key.getPublicKey(),
      "test.near",
      nonce,
      [actions.transfer(amount)],
      blockHash,
    );
    return (await signer.signTransaction(tx)).signedTransaction;
  };
  const nonce = accessKey.nonce + 1n;
  await provider.sendTransactionUntil(await sign(1n, nonce), "EXECUTED_OPTIMISTIC");
  const reused = await t.throwsAsync(
    provider.sendTransactionUntil(await sign(2n, nonce), "EXECUTED_OPTIMISTIC"),
    {
      instanceOf: InvalidNonceError,
    },
  );
  const invalid = reused as InstanceType<typeof InvalidNonceError>;
  t.is(BigInt(invalid.accessKeyNonce), nonce);
  t.is(BigInt(invalid.transactionNonce), nonce);

  const bytes = encodeTransaction(await sign(3n, nonce + 1n));
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
  await t.throwsAsync(
    provider.sendJsonRpc("send_tx", {
      signed_tx_base64: Buffer.from(bytes).toString("base64"),
      wait_until: "FINAL",
    }),
    { instanceOf: InvalidSignatureError },
  );
});

test.serial("cross-contract failure keeps the final status of the callback", async (t) => {
  const status = await deployStatus("status5");
  const { account: cross } = await newAccount("cross5", "20");
  await cross.deployContract(readFileSync(await builtContract("cross")));
  const result = await root.callFunction({
    contractId: cross.accountId,
    methodName: "call_other",
    args: { target: status.accountId, method: "fail", args: { message: "inner" } },
    gas: teraToGas(200),
  });
  t.is(result, "failure:fail");
});

test.serial("bytes that are not a signed transaction are a parse error, not a server error", async (t) => {
  const send = async (b64: string) => {
    const res = await fetch(node.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "broadcast_tx_commit", params: [b64] }),
    });
    return ((await res.json()) as { error?: { name: string; cause: { name: string }; data: string } }).error;
  };
  const short = await send(Buffer.from([1, 2, 3]).toString("base64"));
  t.is(short?.name, "REQUEST_VALIDATION_ERROR");
  t.is(short?.cause.name, "PARSE_ERROR");
  t.regex(short?.data ?? "", /^Failed to decode transaction: borsh: unexpected end of input/);
  // A well-formed transaction followed by junk.
  const key = KeyPair.fromRandom("ed25519");
  const tx = createTransaction("test.near", key.getPublicKey(), "test.near", 1, [], new Uint8Array(32));
  const signed = await new KeyPairSigner(key).signTransaction(tx);
  const bytes = Buffer.concat([Buffer.from(signed.signedTransaction.encode()), Buffer.from([0])]);
  const trailing = await send(bytes.toString("base64"));
  t.regex(trailing?.data ?? "", /borsh: trailing bytes after signed transaction/);
});

test("localnet leaves idle keep-alive connections to the client to close: no Keep-Alive timeout announced", async (t) => {
  // A server-side idle close can meet the client's next POST on that socket ("fetch failed"); with no
  // announced timeout undici closes its idle sockets itself (after 4 s), before the server ever would.
  const res = await fetch(node.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "status", params: [] }),
  });
  t.is(res.status, 200);
  await res.text();
  t.is(res.headers.get("connection"), "keep-alive", "connections are still reused");
  t.is(res.headers.get("keep-alive"), null, `announced: ${res.headers.get("keep-alive")}`);
});
