// npm run 0g:retrieve [-- --provider <addr|model>] — pull funds back from provider sub-accounts to
// the ledger. Two-phase by contract design: the first call asks for a refund of each sub-account's
// balance; a call after the lock time (InferenceServing.lockTime) moves the matured part to the
// ledger's available balance (and asks again for anything left).
import { Command } from "commander";
import {
  addCommonOptions,
  type CommonOpts,
  connect,
  fmt,
  inferenceServiceName,
  info,
  printBalances,
  resolveProvider,
  run,
  sendTx,
} from "./lib/cli.js";

const program = addCommonOptions(
  new Command("0g:retrieve")
    .description(
      "Retrieve funds from provider sub-accounts back into the ledger (after the contract's lock time)",
    )
    .option("-p, --provider <address|model>", "only this provider (default: all of this wallet's providers)"),
);
program.parse();

await run(async () => {
  const opts = program.opts<CommonOpts & { provider?: string }>();
  const ctx = await connect(opts);
  try {
    const name = await inferenceServiceName(ctx);
    const providers: string[] = opts.provider
      ? [await resolveProvider(ctx, opts.provider)]
      : [...(await ctx.ledger.getFunction("getLedgerProviders")(ctx.wallet.address, name))];
    if (providers.length === 0) {
      info("No provider sub-accounts: nothing to retrieve.");
      return;
    }
    await printBalances(ctx, "Before");
    await sendTx(`retrieveFund (${providers.length} provider(s))`, () =>
      ctx.ledger.getFunction("retrieveFund")(providers, name),
    );
    const lockTime: bigint = await ctx.inference.getFunction("lockTime")();
    for (const p of providers) {
      const a = await ctx.inference.getFunction("getAccount")(ctx.wallet.address, p);
      info(`  ${p}: balance ${fmt(a.balance)}, pending refund ${fmt(a.pendingRefund)}`);
    }
    info(
      `Pending refunds become retrievable ${lockTime} s after they were requested; run 0g:retrieve again then.`,
    );
    await printBalances(ctx, "After");
  } finally {
    ctx.close();
  }
});
