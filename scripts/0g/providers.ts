// npm run 0g:providers — inference services registered on chain, with prices and trust status.
import { Command } from "commander";
import { formatEther } from "ethers";
import { addCommonOptions, type CommonOpts, connect, info, run } from "./lib/cli.js";

const program = addCommonOptions(
  new Command("0g:providers")
    .description("List 0G inference providers")
    .option("--all", "include providers whose TEE signer the contract owner has not acknowledged"),
);
program.parse();

await run(async () => {
  const opts = program.opts<CommonOpts & { all?: boolean }>();
  const ctx = await connect(opts, { readOnly: true });
  try {
    const out: {
      provider: string;
      model: string;
      url: string;
      inputPrice: bigint;
      outputPrice: bigint;
      teeSignerAcknowledged: boolean;
      serviceType: string;
    }[] = [];
    for (let offset = 0; ; offset += 50) {
      const [services, total] = await ctx.inference.getFunction("getAllServices")(offset, 50);
      out.push(...services);
      if (offset + 50 >= Number(total)) break;
    }
    const shown = out.filter((s) => opts.all || s.teeSignerAcknowledged);
    info(
      `${shown.length} inference provider(s) on ${ctx.net.name}${opts.all ? "" : " (acknowledged only; --all for every one)"}:`,
    );
    for (const s of shown) {
      // Prices are wei per token; per million tokens reads better.
      info(`  ${s.provider}  model "${s.model}"  type ${s.serviceType}`);
      info(`    url ${s.url}`);
      info(
        `    input ${formatEther(s.inputPrice * 1_000_000n)} 0G / 1M tokens, output ${formatEther(s.outputPrice * 1_000_000n)} 0G / 1M tokens  (${s.inputPrice} / ${s.outputPrice} wei per token)`,
      );
      info(`    TEE signer acknowledged by owner: ${s.teeSignerAcknowledged}`);
    }
  } finally {
    ctx.close();
  }
});
