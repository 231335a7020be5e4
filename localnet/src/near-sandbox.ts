// near-sandbox-compatible executable, as near-workspaces drives it:
//   near-sandbox --home DIR init
//   near-sandbox --home DIR run --rpc-addr 0.0.0.0:PORT --network-addr 0.0.0.0:PORT2
// It may be started with an empty environment, so nothing here reads PATH or other settings.
import { ensureValidatorKey } from "./genesis.js";
import { startLocalnet } from "./node.js";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const inline = args.find((a) => a.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}

async function main(args: string[]): Promise<void> {
  const home = option(args, "--home") ?? `${process.env.HOME ?? "/tmp"}/.near`;
  const command = args.find((a, i) => !a.startsWith("-") && !args[i - 1]?.startsWith("--"));
  if (command === "init") {
    ensureValidatorKey(home);
    return;
  }
  if (command !== "run") {
    process.stderr.write("usage: near-sandbox --home DIR (init | run --rpc-addr HOST:PORT)\n");
    process.exitCode = 2;
    return;
  }
  const rpcAddr = option(args, "--rpc-addr") ?? "0.0.0.0:3030";
  const port = Number(rpcAddr.slice(rpcAddr.lastIndexOf(":") + 1));
  // Whatever address is asked for, localnet answers on loopback only: it has no authentication.
  const node = await startLocalnet({ home, port });
  process.stderr.write(`localnet (near-sandbox mode) RPC on ${node.rpcUrl}\n`);
  const stop = () => {
    node.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`near-sandbox (localnet): ${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
