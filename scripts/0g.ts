// npm run 0g -- <command>: the wallet's 0G Compute ledger from the command line (docs/0g.md). The
// `npm run 0g:<command>` scripts are aliases of these. Flags are parsed here; the commands live in
// 0g/commands.ts, the plumbing (networks, keys, exact amounts, errors with a next step) in 0g/lib/cli.ts.
import { Command } from "commander";
import { acknowledge, deposit, ledger, providers, refund, retrieve, transfer } from "./0g/commands.js";
import { addCommonOptions, type CommonOpts, run } from "./0g/lib/cli.js";
import { runLocal0g } from "./0g/local-harness.js";

const program = new Command("0g").description("Fund, inspect and drain the proxy's 0G Compute ledger");

type Opts = CommonOpts & { amount: string; provider: string; all?: boolean };
const action = (body: (opts: Opts) => Promise<void>) => async (_: unknown, cmd: Command) => {
  await run(() => body(cmd.opts<Opts>()));
};
const command = (name: string, description: string) =>
  addCommonOptions(program.command(name).description(description));
const providerOption = "provider address, or a model name to look it up";

command("ledger", "show the 0G wallet, ledger and provider sub-account balances").action(action(ledger));

command("deposit", "deposit 0G from the wallet into its 0G Compute ledger (3 0G minimum for a new one)")
  .requiredOption("-a, --amount <0G>", "decimal amount of 0G, e.g. 10 or 0.5")
  .action(action(deposit));

command("providers", "list 0G inference providers (no key needed)")
  .option("--all", "include providers whose TEE signer the contract owner has not acknowledged")
  .action(action(providers));

command("acknowledge", "acknowledge a provider's TEE signer so requests to it can be signed and settled")
  .requiredOption("-p, --provider <address|model>", providerOption)
  .option("-a, --amount <0G>", "fund a new sub-account with this much (default and minimum: 1)")
  .action(action(acknowledge));

command(
  "transfer",
  "move 0G from the ledger into a provider's inference sub-account (1 0G minimum for a new one)",
)
  .requiredOption("-p, --provider <address|model>", providerOption)
  .requiredOption("-a, --amount <0G>", "decimal amount of 0G")
  .action(action(transfer));

command(
  "retrieve",
  "retrieve funds from provider sub-accounts back into the ledger (after the contract's lock time)",
)
  .option("-p, --provider <address|model>", "only this provider (default: all of this wallet's providers)")
  .action(action(retrieve));

command("refund", "withdraw 0G from the ledger's available balance back to the wallet")
  .requiredOption("-a, --amount <0G|all>", 'decimal amount of 0G, or "all" for the whole available balance')
  .action(action(refund));

program
  .command("local")
  .description(
    "run a local 0G Compute Network (Hardhat chain, real 0G contracts, an echo provider) until Ctrl-C",
  )
  .option(
    "--rpc-port <port>",
    "JSON-RPC port (env ZG_LOCAL_RPC_PORT)",
    process.env.ZG_LOCAL_RPC_PORT ?? "8545",
  )
  .option(
    "--provider-port <port>",
    "provider port (env ZG_LOCAL_PROVIDER_PORT)",
    process.env.ZG_LOCAL_PROVIDER_PORT ?? "8546",
  )
  .action(async (opts: { rpcPort: string; providerPort: string }) => {
    await run(() => runLocal0g({ rpcPort: Number(opts.rpcPort), providerPort: Number(opts.providerPort) }));
  });

await program.parseAsync();
