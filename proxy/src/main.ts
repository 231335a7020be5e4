// `npm run proxy`: flags -> config -> server. Flags are generated from the settings table so the
// CLI, the environment names and the README stay in step.
import { Command } from "commander";
import { ConfigError, flagKey, loadConfig, settings } from "./config.js";
import { startProxy } from "./server.js";

const program = new Command()
  .name("aiproxy")
  .description("OpenAI-compatible proxy that meters NEAR conversation escrows")
  .option("-c, --config <file>", "YAML configuration file (also AIPROXY_CONFIG)");
for (const s of settings) program.option(s.flag, `${s.describe} (env ${s.env})`);
program.parse();
const flags = program.opts<Record<string, unknown>>();

try {
  const config = loadConfig({
    file: flags["config"] as string | undefined,
    flags: Object.fromEntries(settings.map((s) => [flagKey(s), flags[flagKey(s)]])),
  });
  const proxy = await startProxy(config, { defaultMetrics: true });
  // A line for scripts and tests that spawn the proxy (port 0 picks a free port).
  process.stdout.write(`${JSON.stringify({ msg: "aiproxy ready", url: proxy.url })}\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    proxy.context.logger.info({ signal }, "shutting down");
    await proxy.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  // Startup errors name files and variables, never their secret values.
  process.stderr.write(`aiproxy failed to start: ${(e as Error).message}\n`);
  process.exit(1);
}
