// Localnet dev wallet: the prefunded demo accounts come from config.json (localnet only) and are
// signed for in the page with tweetnacl. Never used on testnet/mainnet: bundle.ts leaves this chunk out.
import nacl from "tweetnacl";
import type { DevAccount } from "../config.js";
import { base58Decode, base58Encode } from "../near/base58.js";
import { type FinalOutcome, type NearRpc, outcomeValue } from "../near/rpc.js";
import { encodeSignedTransaction, encodeTransaction } from "../near/tx.js";
import type { KeyValue } from "../secret.js";
import type { SignAndSendParams, WalletWithSignIn } from "./types.js";

export function keyPairFromString(secretKey: string): nacl.SignKeyPair {
  const [curve, data] = secretKey.split(":");
  if (curve !== "ed25519" || !data) throw new Error("dev wallet supports ed25519 keys only");
  const bytes = base58Decode(data);
  // near-cli stores 64-byte secret keys (seed || public key); accept a bare 32-byte seed too.
  if (bytes.length === 64) return nacl.sign.keyPair.fromSecretKey(bytes);
  if (bytes.length === 32) return nacl.sign.keyPair.fromSeed(bytes);
  throw new Error("bad ed25519 secret key length");
}

export class DevWallet implements WalletWithSignIn {
  readonly kind = "dev" as const;
  private current: string | null;
  /** Last nonce used per key, so quick successive transactions never reuse one. */
  private nonces = new Map<string, bigint>();

  constructor(
    private readonly rpc: NearRpc,
    private readonly accounts: DevAccount[],
    private readonly store: KeyValue,
    private readonly storageKey = "aiconv:v1:dev-wallet-account",
  ) {
    const saved = store.getItem(storageKey);
    this.current = saved && accounts.some((a) => a.account_id === saved) ? saved : null;
  }

  availableAccounts(): string[] {
    return this.accounts.map((a) => a.account_id);
  }

  accountId(): string | null {
    return this.current;
  }

  async signIn(accountId?: string): Promise<string | null> {
    const id = accountId ?? this.accounts[0]?.account_id;
    if (!id || !this.accounts.some((a) => a.account_id === id)) throw new Error(`unknown dev account ${id}`);
    this.current = id;
    this.store.setItem(this.storageKey, id);
    return id;
  }

  async signOut(): Promise<void> {
    this.current = null;
    this.store.removeItem(this.storageKey);
  }

  async signAndSendTransaction({ receiverId, actions }: SignAndSendParams): Promise<FinalOutcome> {
    const account = this.accounts.find((a) => a.account_id === this.current);
    if (!account) throw new Error("not signed in");
    const keys = keyPairFromString(account.secret_key);
    const publicKey = `ed25519:${base58Encode(keys.publicKey)}`;
    const ak = await this.rpc.accessKey(account.account_id, publicKey);
    const chainNonce = BigInt(ak.nonce);
    const last = this.nonces.get(publicKey) ?? 0n;
    const nonce = (chainNonce > last ? chainNonce : last) + 1n;
    this.nonces.set(publicKey, nonce);
    const tx = {
      signerId: account.account_id,
      publicKey: keys.publicKey,
      nonce,
      receiverId,
      actions,
      blockHash: base58Decode(ak.block_hash),
    };
    // NEAR signs sha256(borsh(tx)).
    const hash = new Uint8Array(
      await crypto.subtle.digest("SHA-256", encodeTransaction(tx) as Uint8Array<ArrayBuffer>),
    );
    const signature = nacl.sign.detached(hash, keys.secretKey);
    const outcome = await this.rpc.sendTx(encodeSignedTransaction(tx, signature));
    outcomeValue(outcome); // throws TxFailedError with the panic message if a receipt failed
    return outcome;
  }
}
