// The `npm run 0g -- <command>` commands (scripts/0g.ts parses the flags): the wallet's 0G ledger
// and provider sub-accounts, read and moved with exact wei. Each connects, prints balances before and
// after what it changes, and closes its RPC connection whatever happens.
import { formatEther } from "ethers";
import { listServices, MIN_TRANSFER, readSubAccount } from "#proxy/0g-chain";
import {
  CliError,
  type CommonOpts,
  type Ctx,
  connect,
  fmt,
  info,
  parseAmount0g,
  printBalances,
  readLedger,
  resolveProvider,
  sendTx,
  serviceName,
} from "./lib/cli.js";

async function withWallet(
  opts: CommonOpts,
  body: (ctx: Ctx) => Promise<void>,
  mode: { readOnly?: boolean } = {},
): Promise<void> {
  const ctx = await connect(opts, mode);
  try {
    await body(ctx);
  } finally {
    ctx.close();
  }
}

async function printSubAccount(ctx: Ctx, provider: string, indent = "  "): Promise<void> {
  const a = await readSubAccount(ctx.inference, ctx.wallet.address, provider);
  info(
    `${indent}${provider}: balance ${fmt(a.balance)}, pending refund ${fmt(a.pendingRefund)}, acknowledged ${a.acknowledged}`,
  );
}

/** Wallet, ledger and per-provider sub-account balances (read-only). */
export const ledger = (opts: CommonOpts) =>
  withWallet(opts, async (ctx) => {
    await printBalances(ctx, "0G balances");
    if (!(await readLedger(ctx)).exists) return;
    const name = await serviceName(ctx);
    const providers: string[] = await ctx.ledger.getFunction("getLedgerProviders")(ctx.wallet.address, name);
    if (providers.length === 0) {
      info("  no provider sub-accounts yet (npm run 0g:acknowledge -- --provider <address>)");
      return;
    }
    info("  provider sub-accounts (inference):");
    for (const p of providers) await printSubAccount(ctx, p, "    ");
  });

/** Wallet → ledger (the first deposit, at least 3 0G, creates the ledger). */
export const deposit = (opts: CommonOpts & { amount: string }) => {
  const amount = parseAmount0g(opts.amount);
  return withWallet(opts, async (ctx) => {
    await printBalances(ctx, "Before");
    info(`Depositing ${fmt(amount)}`);
    await sendTx("depositFund", () => ctx.ledger.getFunction("depositFund")({ value: amount }));
    await printBalances(ctx, "After");
  });
};

/** Inference services registered on chain, with prices and trust status; needs no key. */
export const providers = (opts: CommonOpts & { all?: boolean }) =>
  withWallet(
    opts,
    async (ctx) => {
      const shown = (await listServices(ctx.inference)).filter((s) => opts.all || s.teeSignerAcknowledged);
      const which = opts.all ? "" : " (acknowledged only; --all for every one)";
      info(`${shown.length} inference provider(s) on ${ctx.net.name}${which}:`);
      for (const s of shown) {
        // Prices are wei per token; per million tokens reads better.
        const perM = (wei: bigint) => `${formatEther(wei * 1_000_000n)} 0G / 1M tokens`;
        info(`  ${s.provider}  model "${s.model}"  type ${s.serviceType}`);
        info(`    url ${s.url}`);
        info(
          `    input ${perM(s.inputPrice)}, output ${perM(s.outputPrice)}  (${s.inputPrice} / ${s.outputPrice} wei per token)`,
        );
        info(`    TEE signer acknowledged by owner: ${s.teeSignerAcknowledged}`);
      }
    },
    { readOnly: true },
  );

/**
 * Trust a provider's TEE signer, as the SDK's acknowledgeProviderSigner does: create the sub-account
 * (1 0G minimum) if needed, then acknowledge. Refuses a signer the contract owner has not vetted.
 */
export const acknowledge = (opts: CommonOpts & { provider: string; amount?: string }) => {
  const amount = opts.amount ? parseAmount0g(opts.amount) : MIN_TRANSFER;
  return withWallet(opts, async (ctx) => {
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
    const before = await readSubAccount(ctx.inference, ctx.wallet.address, provider);
    if (!before.exists) {
      info(`No sub-account yet: creating it with ${fmt(amount)} from the ledger`);
      const name = await serviceName(ctx);
      await sendTx("transferFund", () => ctx.ledger.getFunction("transferFund")(provider, name, amount));
    }
    if ((await readSubAccount(ctx.inference, ctx.wallet.address, provider)).acknowledged) {
      info("Already acknowledged.");
    } else {
      await sendTx("acknowledgeTEESigner", () =>
        ctx.inference.getFunction("acknowledgeTEESigner")(provider, true),
      );
    }
    await printSubAccount(ctx, provider, "Sub-account ");
    await printBalances(ctx, "Now");
  });
};

/** Ledger → a provider's sub-account (1 0G minimum for a new one). */
export const transfer = (opts: CommonOpts & { provider: string; amount: string }) => {
  const amount = parseAmount0g(opts.amount);
  return withWallet(opts, async (ctx) => {
    const provider = await resolveProvider(ctx, opts.provider);
    await printBalances(ctx, "Before");
    info(`Transferring ${fmt(amount)} to provider ${provider}`);
    const name = await serviceName(ctx);
    await sendTx("transferFund", () => ctx.ledger.getFunction("transferFund")(provider, name, amount));
    await printSubAccount(ctx, provider);
    await printBalances(ctx, "After");
  });
};

/**
 * Sub-accounts → ledger. Two-phase by contract design: the first call asks for a refund of each
 * sub-account's balance; a call after the lock time (InferenceServing.lockTime) moves the matured
 * part to the ledger's available balance (and asks again for anything left).
 */
export const retrieve = (opts: CommonOpts & { provider?: string }) =>
  withWallet(opts, async (ctx) => {
    const name = await serviceName(ctx);
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
    for (const p of providers) await printSubAccount(ctx, p);
    info(
      `Pending refunds become retrievable ${lockTime} s after they were requested; run 0g:retrieve again then.`,
    );
    await printBalances(ctx, "After");
  });

/** Ledger (available part) → wallet; "all" for the whole available balance. */
export const refund = (opts: CommonOpts & { amount: string }) => {
  const all = opts.amount.trim().toLowerCase() === "all";
  const requested = all ? 0n : parseAmount0g(opts.amount);
  return withWallet(opts, async (ctx) => {
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
  });
};
