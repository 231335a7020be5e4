// `npm run keys:refund-signer [-- --out <file>]`: creates a secp256k1 refund signing key.
// Prints the env line for the proxy and the address the contract owner registers with
// set_refund_signers. With --out the key goes to a 0600 file instead of the terminal.
import { writeFileSync } from "node:fs";
import { Command } from "commander";
import { Wallet } from "ethers";

const program = new Command()
  .name("keys:refund-signer")
  .option("--out <file>", "write the private key to this file (mode 0600) instead of printing it")
  .parse();
const { out } = program.opts<{ out?: string }>();

const wallet = Wallet.createRandom();
if (out) {
  writeFileSync(out, `${wallet.privateKey}\n`, { mode: 0o600, flag: "wx" });
  process.stdout.write(
    `# key written to ${out}; run the proxy with:\nAIPROXY_REFUND_SIGNER_KEY_FILE=${out}\n`,
  );
} else {
  process.stdout.write(
    `# keep this secret (proxy environment only):\nAIPROXY_REFUND_SIGNER_KEY=${wallet.privateKey}\n`,
  );
}
process.stdout.write(
  `# register this address with the token contract (owner only):\n#   set_refund_signers({"signers": ["${wallet.address}"]})\nREFUND_SIGNER_ADDRESS=${wallet.address}\n`,
);
