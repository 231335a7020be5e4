// npm run 0g:ledger — wallet, ledger and per-provider sub-account balances (read-only).
import { Command } from "commander";
import {
  addCommonOptions,
  type CommonOpts,
  connect,
  fmt,
  inferenceServiceName,
  info,
  printBalances,
  readLedger,
  run,
} from "./lib/cli.js";

const program = addCommonOptions(
  new Command("0g:ledger").description("Show the 0G wallet, ledger and provider sub-account balances"),
);
program.parse();

await run(async () => {
  const ctx = await connect(program.opts<CommonOpts>());
  try {
    await printBalances(ctx, "0G balances");
    if (!(await readLedger(ctx)).exists) return;
    const providers: string[] = await ctx.ledger.getFunction("getLedgerProviders")(
      ctx.wallet.address,
      await inferenceServiceName(ctx),
    );
    if (providers.length === 0) {
      info("  no provider sub-accounts yet (npm run 0g:acknowledge -- --provider <address>)");
      return;
    }
    info("  provider sub-accounts (inference):");
    for (const p of providers) {
      const a = await ctx.inference.getFunction("getAccount")(ctx.wallet.address, p);
      info(
        `    ${p}  balance ${fmt(a.balance)}  pending refund ${fmt(a.pendingRefund)}  acknowledged ${a.acknowledged}`,
      );
    }
  } finally {
    ctx.close();
  }
});
