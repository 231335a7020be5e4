// npm run 0g:transfer -- --provider <addr|model> --amount <0G> — ledger → a provider's sub-account.
import { Command } from "commander";
import {
  addCommonOptions,
  type CommonOpts,
  connect,
  fmt,
  inferenceServiceName,
  info,
  parseAmount0g,
  printBalances,
  resolveProvider,
  run,
  sendTx,
} from "./lib/cli.js";

const program = addCommonOptions(
  new Command("0g:transfer")
    .description(
      "Move 0G from the ledger into a provider's inference sub-account (1 0G minimum for a new one)",
    )
    .requiredOption("-p, --provider <address|model>", "provider address, or a model name to look it up")
    .requiredOption("-a, --amount <0G>", "decimal amount of 0G"),
);
program.parse();

await run(async () => {
  const opts = program.opts<CommonOpts & { provider: string; amount: string }>();
  const amount = parseAmount0g(opts.amount);
  const ctx = await connect(opts);
  try {
    const provider = await resolveProvider(ctx, opts.provider);
    await printBalances(ctx, "Before");
    info(`Transferring ${fmt(amount)} to provider ${provider}`);
    const name = await inferenceServiceName(ctx);
    await sendTx("transferFund", () => ctx.ledger.getFunction("transferFund")(provider, name, amount));
    const a = await ctx.inference.getFunction("getAccount")(ctx.wallet.address, provider);
    info(`  sub-account balance ${fmt(a.balance)}, pending refund ${fmt(a.pendingRefund)}`);
    await printBalances(ctx, "After");
  } finally {
    ctx.close();
  }
});
