// localnet + a deployed, initialised token contract + a refund signer + a funded user, and a way to
// open conversations whose secret the test keeps (the proxy's API key). Built from token.ts's
// pieces so every suite deploys the token the same way; for tests that put a proxy in front of it.
import { Wallet } from "ethers";
import type { NearAccount, Worker } from "near-workspaces";
import { conversationIdFromSecret } from "#internal/proxy/auth";
import { newSecret } from "./proxy.js";
import { balanceOf, deployToken, initWorker, openConversation, transfer, type World } from "./token.js";

export interface NearConversation {
  /** The client's API key for the proxy; only its sha256 is on chain. */
  secret: string;
  /** hex(sha256(secret)), the on-chain conversation id. */
  id: string;
  deposit: bigint;
  receiver: NearAccount;
}

export interface NearStack {
  worker: Worker;
  world: World;
  /** The token contract account (also the proxy's `chain.contract_id`). */
  token: NearAccount;
  /** localnet's JSON-RPC URL (the proxy's `chain.rpc_url`). */
  rpcUrl: string;
  /** Registered with set_refund_signers; hand its key to the proxy as AIPROXY_REFUND_SIGNER_KEY. */
  refundSigner: Wallet;
  /** Opens a conversation for `who` (default alice) with a fresh secret. */
  open(deposit: bigint, who?: NearAccount): Promise<NearConversation>;
  balanceOf(account: NearAccount | string): Promise<bigint>;
  /** view_ai_conversation, as the contract returns it. */
  conversation(id: string): Promise<Record<string, unknown> | null>;
  close(): Promise<void>;
}

/** Starts localnet and deploys the token; `userFunds` token units are moved owner → alice. */
export async function startNearStack({
  userFunds = 1_000_000n,
}: {
  userFunds?: bigint;
} = {}): Promise<NearStack> {
  const { worker, root } = await initWorker();
  try {
    const world = await deployToken(root);
    const { token, owner, alice } = world;
    if (userFunds > 0n) await transfer(world, owner, alice, userFunds);
    // A fresh key per run: nothing private is stored in the repository.
    const refundSigner = new Wallet(Wallet.createRandom().privateKey);
    await owner.call(token, "set_refund_signers", { signers: [refundSigner.address] });
    const rpcUrl = (worker.provider as unknown as { connection: { url: string } }).connection.url;
    return {
      worker,
      world,
      token,
      rpcUrl,
      refundSigner,
      async open(deposit, who = alice) {
        const secret = newSecret();
        const id = conversationIdFromSecret(secret);
        await openConversation(world, who, deposit, id);
        return { secret, id, deposit, receiver: who };
      },
      balanceOf: (account) => balanceOf(token, account),
      conversation: (id) => token.view("view_ai_conversation", { conversation_id: id }),
      close: () => worker.tearDown(),
    };
  } catch (e) {
    await worker.tearDown().catch(() => {});
    throw e;
  }
}
