// npm run 0g:acknowledge -- --provider <addr|model> — trust a provider's TEE signer (as the SDK's
// acknowledgeProviderSigner does: create the sub-account with 1 0G if needed, then acknowledge).
import { Command } from "commander";
import {
  addCommonOptions,
  CliError,
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

const MIN_TRANSFER = 10n ** 18n; // LedgerManager.MIN_TRANSFER_AMOUNT: a new sub-account needs 1 0G

const program = addCommonOptions(
  new Command("0g:acknowledge")
    .description("Acknowledge a provider's TEE signer so requests to it can be signed and settled")
    .requiredOption("-p, --provider <address|model>", "provider address, or a model name to look it up")
    .option("-a, --amount <0G>", "fund a new sub-account with this much (default and minimum: 1)"),
);
program.parse();

await run(async () => {
  const opts = program.opts<CommonOpts & { provider: string; amount?: string }>();
  const amount = opts.amount ? parseAmount0g(opts.amount) : MIN_TRANSFER;
  const ctx = await connect(opts);
  try {
    const provider = await resolveProvider(ctx, opts.provider);
    const service = await ctx.inference.getFunction("getService")(provider);
    // A signer the contract owner has not vetted would let the provider sign anything: refuse.
    if (!service.teeSignerAcknowledged) {
      throw new CliError(
        `provider ${provider}'s TEE signer is not acknowledged by the 0G contract owner`,
        "pick another provider (npm run 0g:providers lists the acknowledged ones)",
      );
    }
    info(`Provider ${provider}: model "${service.model}", TEE signer ${service.teeSignerAddress}`);
    const exists: boolean = await ctx.inference.getFunction("accountExists")(ctx.wallet.address, provider);
    if (!exists) {
      info(`No sub-account yet: creating it with ${fmt(amount)} from the ledger`);
      const name = await inferenceServiceName(ctx);
      await sendTx("transferFund", () => ctx.ledger.getFunction("transferFund")(provider, name, amount));
    }
    const account = await ctx.inference.getFunction("getAccount")(ctx.wallet.address, provider);
    if (account.acknowledged) {
      info("Already acknowledged.");
    } else {
      await sendTx("acknowledgeTEESigner", () =>
        ctx.inference.getFunction("acknowledgeTEESigner")(provider, true),
      );
    }
    const a = await ctx.inference.getFunction("getAccount")(ctx.wallet.address, provider);
    info(`Sub-account: balance ${fmt(a.balance)}, acknowledged ${a.acknowledged}`);
    await printBalances(ctx, "Now");
  } finally {
    ctx.close();
  }
});
