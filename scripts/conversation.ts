// npm run conversation -- open|status|list|refund|reclaim: AI conversations from the command line,
// for people who do not use the web app. `open` draws the secret (the proxy's API key), keeps it in
// a 0600 file, escrows the tokens and prints the key, the base URL and a working openai snippet.
import { Command, Option } from "commander";
import { run } from "./lib/cli.js";
import {
  type CommonOptions,
  context,
  DEFAULT_SECRETS_DIR,
  explain,
  list,
  open,
  reclaim,
  refund,
  status,
} from "./lib/conversation/index.js";

const program = new Command("conversation").description(
  "AI conversations on a NEAR token: open an escrow and get an API key, check it, refund it, reclaim it",
);

function common(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("-n, --network <name>", "localnet | testnet | mainnet")
        .choices(["localnet", "testnet", "mainnet"])
        .default(process.env.NEAR_NETWORK ?? "localnet"),
    )
    .option("--contract <account>", "the token contract (default on localnet: token.test.near)")
    .option("--rpc <url>", "NEAR RPC URL (default: the network's public one, localnet 127.0.0.1:3030)")
    .option(
      "--secrets-dir <dir>",
      "where conversation secrets are kept (env AI_CONVERSATIONS_DIR)",
      process.env.AI_CONVERSATIONS_DIR ?? DEFAULT_SECRETS_DIR,
    );
}

const target = (cmd: Command) =>
  cmd
    .option("--id <conversation>", "conversation id (64 hex), or 8+ leading characters of one you hold")
    .option("--secret-file <path>", "a conversation secret file (instead of --id)");
const signing = (cmd: Command) =>
  cmd.option(
    "--key-file <path>",
    "key of the signing account (default: ~/.near-credentials/<network>/<account>.json)",
  );

type Opts = CommonOptions & {
  account?: string;
  amount?: string;
  expiresIn?: string;
  id?: string;
  keyFile?: string;
  proxyUrl?: string;
  secretFile?: string;
};
const action = (body: (opts: Opts) => Promise<unknown>) => async (_: unknown, cmd: Command) => {
  await run(async () => {
    await body(cmd.optsWithGlobals<Opts>());
  }, explain);
};

signing(
  common(program.command("open").description("escrow tokens and get an API key for the proxy"))
    .requiredOption("--account <account>", "who pays (and gets the unspent part back)")
    .requiredOption(
      "--amount <tokens>",
      'token amount, in whole tokens with decimals ("5" = 5 AIC = 5000000 base units)',
    )
    .option("--expires-in <duration>", 'lifetime: seconds or "90m", "12h", "30d" (default: the contract\'s)')
    .option("--proxy-url <url>", "the proxy (default: the contract's get_config.web4.proxy_url)"),
).action(
  action((o) =>
    open(context(o), {
      account: o.account as string,
      amount: o.amount as string,
      keyFile: o.keyFile,
      proxyUrl: o.proxyUrl,
      expiresIn: o.expiresIn,
    }),
  ),
);

target(common(program.command("status").description("a conversation on chain and at the proxy")))
  .option("--proxy-url <url>", "ask this proxy instead of the one saved with the secret")
  .action(action((o) => status(context(o), o)));

common(program.command("list").description("an account's conversations, newest first (no secret needed)"))
  .requiredOption("--account <account>", "the opener")
  .action(action((o) => list(context(o), { account: o.account as string })));

signing(
  target(
    common(
      program.command("refund").description("end the conversation: the proxy signs, the refund is submitted"),
    ),
  )
    .option(
      "--account <account>",
      "who submits refund_unspent (default: the opener); the tokens go to the opener",
    )
    .option("--proxy-url <url>", "ask this proxy instead of the one saved with the secret"),
).action(action((o) => refund(context(o), o)));

signing(
  target(
    common(
      program.command("reclaim").description("after expiry: the whole unrefunded deposit back to its opener"),
    ),
  ),
)
  .option("--account <account>", "who submits (anyone; default: the opener); the tokens go to the opener")
  .action(action((o) => reclaim(context(o), o)));

await program.parseAsync();
