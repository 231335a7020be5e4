// Assembles a localnet node: chain + persistence + JSON-RPC server (+ optional web4 gateway).
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { BlockStore } from "./chain/blocks.js";
import { Chain } from "./chain/chain.js";
import { generateEd25519KeyPair } from "./chain/public-key.js";
import { ensureValidatorKey, type ValidatorKey, validatorKeyPath, writeGenesisState } from "./genesis.js";
import { ChangeLog } from "./persistence/change-log.js";
import type { NodeIdentity } from "./rpc/node-info.js";
import { createRpcServer } from "./rpc/server.js";
import { loadContractRuntime } from "./runtime-loader.js";
import type { ContractRuntime } from "./vm/types.js";
import { createWeb4Handler, type Web4LocalFiles } from "./web4/gateway.js";

export interface LocalnetOptions {
  /** Home dir: validator_key.json and the chain log live here. Without it the chain lives in memory only. */
  home?: string;
  /** RPC port; 0 (default) picks a free one. */
  port?: number;
  /** Always loopback unless explicitly changed: localnet has no authentication. */
  host?: string;
  /** Serve this contract's web4_get on web4Port (and on GET requests to the RPC port). */
  web4Contract?: string;
  web4Port?: number;
  /**
   * Paths the gateway answers itself with JSON before asking the contract: localnet-only helpers
   * such as `npm start`'s /_localnet/dev-accounts.json, which must never live in contract state.
   */
  web4Files?: Web4LocalFiles;
  loadRuntime?: () => Promise<ContractRuntime>;
}

export interface Localnet {
  rpcUrl: string;
  port: number;
  web4Url?: string;
  chain: Chain;
  validatorKey: ValidatorKey;
  /** Where the genesis account key is (home dir only). */
  validatorKeyPath?: string;
  close(): Promise<void>;
}

export async function startLocalnet(options: LocalnetOptions = {}): Promise<Localnet> {
  const { home } = options;
  const validatorKey = home ? ensureValidatorKey(home) : inMemoryKey();
  const log = home ? new ChangeLog(join(home, "localnet", "chain.jsonl")) : undefined;
  const chain = new Chain({
    loadRuntime: options.loadRuntime ?? loadContractRuntime,
    onBlock: log ? (entry) => log.append(entry) : undefined,
  });
  const loaded = log?.load();
  if (loaded) {
    for (const block of loaded.blocks) chain.blocks.add(block);
    for (const record of loaded.records) chain.state.load(record);
    for (const [hash, tx] of loaded.transactions) chain.transactions.set(hash, tx);
    log?.compact(loaded.blocks, chain.state.allRecords(), [...chain.transactions.entries()]);
  } else {
    writeGenesisState(chain.state, validatorKey.public_key);
    const genesis = BlockStore.genesisBlock(BigInt(Date.now()) * 1_000_000n);
    if (log) log.compact([], [], []);
    chain.blocks.add(genesis);
    chain.produceBlock();
  }

  const host = options.host ?? "127.0.0.1";
  const node: NodeIdentity = {
    validatorPublicKey: validatorKey.public_key,
    rpcAddr: "",
    startedAt: Date.now(),
  };
  const web4 = options.web4Contract
    ? createWeb4Handler(chain, options.web4Contract, options.web4Files)
    : undefined;
  const rpc = createRpcServer(chain, node, web4);
  const port = await listen(rpc, options.port ?? 0, host);
  node.rpcAddr = `${host}:${port}`;
  const servers: Server[] = [rpc];
  let web4Url: string | undefined;
  if (web4 && options.web4Port !== undefined) {
    const { createServer } = await import("node:http");
    const server = createServer(web4);
    const web4Port = await listen(server, options.web4Port, host);
    servers.push(server);
    web4Url = `http://${host}:${web4Port}/`;
  }

  let closed: Promise<void> | undefined;
  return {
    rpcUrl: `http://${host}:${port}`,
    port,
    web4Url,
    chain,
    validatorKey,
    validatorKeyPath: home ? validatorKeyPath(home) : undefined,
    close: () => {
      closed ??= Promise.all(
        servers.map(async (s) => {
          s.closeAllConnections();
          s.close();
          await once(s, "close");
        }),
      ).then(() => undefined);
      return closed;
    },
  };
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

function inMemoryKey(): ValidatorKey {
  const { publicKey, secretKey } = generateEd25519KeyPair();
  return { account_id: "test.near", public_key: publicKey, secret_key: secretKey };
}
