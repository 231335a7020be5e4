// `localnet start [--home DIR] [--port N] [--web4-contract ID --web4-port N]`: a node for humans and scripts.
import { join } from "node:path";
import { Command } from "commander";
import { startLocalnet } from "./node.js";

const program = new Command()
  .name("localnet")
  .description("Offline NEAR node: JSON-RPC compatible with near-sandbox, runs near-sdk-js contracts");

program
  .command("start", { isDefault: true })
  .description("start a node and serve JSON-RPC until Ctrl-C")
  .option("--home <dir>", "home dir (validator key, chain state)", join(process.cwd(), ".localnet", "home"))
  .option("--port <n>", "RPC port", "3030")
  .option("--web4-contract <account>", "serve this contract's web4_get over HTTP")
  .option("--web4-port <n>", "port of the web4 gateway", "3031")
  .action(async (opts: { home: string; port: string; web4Contract?: string; web4Port: string }) => {
    const node = await startLocalnet({
      home: opts.home,
      port: Number(opts.port),
      web4Contract: opts.web4Contract,
      web4Port: opts.web4Contract ? Number(opts.web4Port) : undefined,
    });
    console.log(`localnet RPC:       ${node.rpcUrl}`);
    console.log(`genesis account:    ${node.validatorKey.account_id} (also registrar "near")`);
    console.log(`genesis key file:   ${node.validatorKeyPath}`);
    if (node.web4Url) console.log(`web4 gateway:       ${node.web4Url} -> ${opts.web4Contract}`);
    console.log("press Ctrl-C to stop");
    const stop = () => {
      console.log("\nlocalnet: stopping");
      node.close().finally(() => process.exit(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });

program.parseAsync(process.argv).catch((err) => {
  console.error(`localnet: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
