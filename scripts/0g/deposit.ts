// npm run 0g:deposit -- --amount <0G> — wallet → ledger (creates the ledger on first deposit, 3 0G minimum).
import { Command } from "commander";
import {
  addCommonOptions,
  type CommonOpts,
  connect,
  fmt,
  info,
  parseAmount0g,
  printBalances,
  run,
  sendTx,
} from "./lib/cli.js";

const program = addCommonOptions(
  new Command("0g:deposit")
    .description("Deposit 0G from the wallet into its 0G Compute ledger")
    .requiredOption("-a, --amount <0G>", "decimal amount of 0G, e.g. 10 or 0.5"),
);
program.parse();

await run(async () => {
  const opts = program.opts<CommonOpts & { amount: string }>();
  const amount = parseAmount0g(opts.amount);
  const ctx = await connect(opts);
  try {
    await printBalances(ctx, "Before");
    info(`Depositing ${fmt(amount)}`);
    await sendTx("depositFund", () => ctx.ledger.getFunction("depositFund")({ value: amount }));
    await printBalances(ctx, "After");
  } finally {
    ctx.close();
  }
});
