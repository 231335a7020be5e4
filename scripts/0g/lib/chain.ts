// An in-process Hardhat network behind a loopback JSON-RPC server. In-process (not a child
// `hardhat node`) so a test that starts it can never leak a background process: closing the
// server is all the cleanup there is.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

/** Hardhat's public, well-known test mnemonic; the keys are derived at runtime, never stored. */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

export interface LocalChain {
  rpcUrl: string;
  chainId: bigint;
  /** Raw EIP-1193 provider, for evm_increaseTime & co. */
  request(method: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

export async function startChain(
  opts: { port?: number; accountsBalanceWei?: bigint } = {},
): Promise<LocalChain> {
  // Hardhat 2 internals: the same two calls its own `node` task makes, minus the HRE.
  const { resolveConfig } = require("hardhat/internal/core/config/config-resolution");
  const { createProvider } = require("hardhat/internal/core/providers/construction");
  const { JsonRpcServer } = require("hardhat/internal/hardhat-network/jsonrpc/server");
  const here = path.dirname(fileURLToPath(import.meta.url));
  const config = resolveConfig(path.join(here, "..", "hardhat.config.cjs"), {
    networks: {
      hardhat: {
        chainId: 31337,
        // Instant mining: every tx gets its own block, receipts are immediate.
        mining: { auto: true },
        accounts: {
          mnemonic: HARDHAT_MNEMONIC,
          count: 10,
          accountsBalance: (opts.accountsBalanceWei ?? 10n ** 24n).toString(),
        },
      },
    },
  });
  const provider: Eip1193 = await createProvider(config, "hardhat");
  const server = new JsonRpcServer({ hostname: "127.0.0.1", port: opts.port ?? 0, provider });
  const { address, port } = await server.listen();
  return {
    rpcUrl: `http://${address}:${port}`,
    chainId: 31337n,
    request: (method, params) => provider.request({ method, params }),
    close: async () => {
      await server.close();
    },
  };
}
