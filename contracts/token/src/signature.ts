// EIP-191 personal-message signatures (ethers `Wallet.signMessage`), recovered with the host's
// ecrecover: verifying ed25519 in interpreted JS would cost 100+ Tgas, secp256k1 recovery is native.
import { encode, near } from "near-sdk-js";
import { fromHex, need, toHex } from "./util";

/** keccak256("\x19Ethereum Signed Message:\n" + byteLength + message), as ethers `hashMessage`. */
export function personalMessageDigest(message: string): Uint8Array {
  const body = encode(message);
  const prefix = encode(`\x19Ethereum Signed Message:\n${body.length}`);
  const data = new Uint8Array(prefix.length + body.length);
  data.set(prefix);
  data.set(body, prefix.length);
  return near.keccak256(data);
}

/** Returns the lowercase 0x address that signed `message`; panics on any malformed or malleable signature. */
export function recoverSigner(message: string, signature: unknown): string {
  need(
    typeof signature === "string" && /^0x[0-9a-fA-F]{130}$/.test(signature),
    "signature must be 0x-prefixed hex of 65 bytes (r || s || v)",
  );
  const sig = fromHex(signature.slice(2));
  const v = sig[64];
  need(v === 27 || v === 28, "signature v must be 27 or 28");
  // Malleability flag 1: the host rejects high-s signatures, so (r, n - s) is not a second valid form.
  const publicKey = near.ecrecover(personalMessageDigest(message), sig.slice(0, 64), v - 27, 1);
  need(publicKey !== null, "invalid signature: public key recovery failed (malformed or high-s)");
  return `0x${toHex(near.keccak256(publicKey).slice(12))}`;
}
