// npm run 0g:refund -- --amount <0G|all> — ledger (available part) → wallet.
import { Command } from "commander";
import {
  addCommonOptions,
  CliError,
  type CommonOpts,
  connect,
  fmt,
  info,
  parseAmount0g,
  printBalances,
  readLedger,
  run,
  sendTx,
} from "./lib/cli.js";

const program = addCommonOptions(
  new Command("0g:refund")
    .description("Withdraw 0G from the ledger's available balance back to the wallet")
    .requiredOption(
      "-a, --amount <0G|all>",
      'decimal amount of 0G, or "all" for the whole available balance',
    ),
);
program.parse();

await run(async () => {
  const opts = program.opts<CommonOpts & { amount: string }>();
  const all = opts.amount.trim().toLowerCase() === "all";
  const requested = all ? 0n : parseAmount0g(opts.amount);
  const ctx = await connect(opts);
  try {
    await printBalances(ctx, "Before");
    const ledger = await readLedger(ctx);
    if (!ledger.exists) throw new CliError("this wallet has no 0G ledger", "nothing to refund");
    const amount = all ? ledger.available : requested;
    if (amount === 0n) {
      throw new CliError(
        "the ledger has nothing available",
        "funds in provider sub-accounts come back with npm run 0g:retrieve",
      );
    }
    if (amount > ledger.available) {
      throw new CliError(
        `only ${fmt(ledger.available)} is available in the ledger`,
        "retrieve funds from providers first (npm run 0g:retrieve), or ask for less",
      );
    }
    info(`Refunding ${fmt(amount)} to the wallet`);
    await sendTx("refund", () => ctx.ledger.getFunction("refund")(amount));
    await printBalances(ctx, "After");
  } finally {
    ctx.close();
  }
});
