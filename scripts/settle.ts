// `npm run settle -- [--dry-run] [--json] [--config proxy.yaml] [proxy flags…]`: one operator
// settlement pass from the command line, on the ledger, chain and operator account the proxy's
// configuration names (the same flags and AIPROXY_* variables as `npm run proxy`). It takes the
// settlement lease like a proxy's worker, so it refuses to run beside a proxy that settles; for cron
// use set settle.enabled: false on the proxies. --dry-run decides and prints without acting.
import { Command } from "commander";
import { flagKey, loadConfig, SettleOnceError, settings, settleOnce } from "#proxy";
import { asCliError, CliError, run } from "./lib/cli.js";
import { describePass, failures } from "./lib/settle/report.js";

const program = new Command("settle")
  .description("one operator settlement pass: settle idle and expiring conversations on chain")
  .option("--dry-run", "say what would be settled; change nothing")
  .option("--json", "print the pass report as JSON")
  .option("-c, --config <file>", "the proxy's YAML configuration (also AIPROXY_CONFIG)");
for (const s of settings) program.option(s.flag, `${s.describe} (env ${s.env})`);
program.parse();
const flags = program.opts<Record<string, unknown>>();

await run(
  async () => {
    const config = loadConfig({
      file: flags["config"] as string | undefined,
      flags: Object.fromEntries(settings.map((s) => [flagKey(s), flags[flagKey(s)]])),
    });
    if (!flags["json"])
      process.stdout.write(`settling ${config.chain.contract_id} via ${config.chain.rpc_url}…\n`);
    const report = await settleOnce(config, { dryRun: Boolean(flags["dryRun"]) });
    process.stdout.write(
      flags["json"]
        ? `${JSON.stringify(report, null, 2)}\n`
        : `${describePass(report, config.chain.contract_id).join("\n")}\n`,
    );
    if (report.stopped)
      throw new CliError(
        `the pass stopped early: ${report.stopped}`,
        "the next pass retries; check the NEAR RPC (chain.rpc_url)",
      );
    const failed = failures(report);
    if (failed.length)
      throw new CliError(
        `${failed.length} conversation(s) could not be settled this pass (they are retried with backoff)`,
        "GET /v1/operator/summary lists their last errors; `operator_balance` means the operator account needs NEAR for gas",
      );
  },
  (e) => (e instanceof SettleOnceError ? new CliError(e.message, e.hint) : asCliError(e)),
);
