// Test fixture: near-sdk-js 2.0's collections and an NEP-171 token ledger laid out the way
// near-contract-standards' NonFungibleToken lays it out. Their storage keys are strings holding NUL
// bytes (Vector indices are 4 little-endian bytes; the standard's per-owner token sets are prefixed
// "\x00" + sha256(owner)), which is what localnet must carry across its host boundary intact.
// near-contract-standards itself is not published to npm (it lives in near-sdk-js's repository), so
// the NFT part here is our own code with the standard's storage scheme: owner_by_id UnorderedMap,
// tokens_per_owner LookupMap of UnorderedSet, token sets under the "\x00" + hash prefix.
import {
  call,
  encode,
  LookupMap,
  LookupSet,
  NearBindgen,
  near,
  str,
  UnorderedMap,
  UnorderedSet,
  Vector,
  view,
} from "near-sdk-js";

/** near-contract-standards' TokensPerOwner storage key. */
const tokensPerOwnerPrefix = (owner: string) => `\x00${str(near.sha256(encode(owner)))}`;

@NearBindgen({})
export class Collections {
  map = new UnorderedMap<string>("m");
  // Two sets whose prefixes differ only after a NUL.
  setA = new UnorderedSet<string>("s\x00a");
  setB = new UnorderedSet<string>("s\x00b");
  vec = new Vector<string>("v");
  ownerById = new UnorderedMap<string>("o");

  @call({})
  map_set({ key, value }: { key: string; value: string }): void {
    this.map.set(key, value);
  }

  @call({})
  map_remove({ key }: { key: string }): string | null {
    return this.map.remove(key);
  }

  @view({})
  map_get({ key }: { key: string }): string | null {
    return this.map.get(key);
  }

  @view({})
  map_entries(): [string, string][] {
    return this.map.toArray();
  }

  @call({})
  set_add({ which, element }: { which: "a" | "b"; element: string }): boolean {
    return this.theSet(which).set(element);
  }

  @call({})
  set_remove({ which, element }: { which: "a" | "b"; element: string }): boolean {
    return this.theSet(which).remove(element);
  }

  @view({})
  set_elements({ which }: { which: "a" | "b" }): string[] {
    return this.theSet(which).toArray();
  }

  @view({})
  set_contains({ which, element }: { which: "a" | "b"; element: string }): boolean {
    return this.theSet(which).contains(element);
  }

  /** Pushes `${label}${i}` for i in [from, to). */
  @call({})
  vec_push_range({ label, from, to }: { label: string; from: number; to: number }): number {
    for (let i = from; i < to; i++) this.vec.push(`${label}${i}`);
    return this.vec.length;
  }

  @view({})
  vec_get({ index }: { index: number }): string | null {
    return this.vec.get(index);
  }

  @view({})
  vec_len(): number {
    return this.vec.length;
  }

  @call({})
  lookup_add({ prefix, key }: { prefix: string; key: string }): boolean {
    return new LookupSet<string>(prefix).set(key);
  }

  @view({})
  lookup_contains({ prefix, key }: { prefix: string; key: string }): boolean {
    return new LookupSet<string>(prefix).contains(key);
  }

  // NEP-171 core, storage as near-contract-standards has it.
  @call({})
  nft_mint({ token_id, owner_id }: { token_id: string; owner_id: string }): void {
    if (this.ownerById.get(token_id) !== null) throw new Error("token_id must be unique");
    this.ownerById.set(token_id, owner_id);
    this.addToOwner(owner_id, token_id);
  }

  @call({})
  nft_transfer({ receiver_id, token_id }: { receiver_id: string; token_id: string }): void {
    const owner = this.ownerById.get(token_id);
    if (owner === null) throw new Error("Token not found");
    if (owner !== near.predecessorAccountId()) throw new Error("Unauthorized");
    if (owner === receiver_id) throw new Error("Current and next owner must differ");
    this.ownerById.set(token_id, receiver_id);
    const tokens = this.tokensPerOwner().get(owner, { reconstructor: UnorderedSet.reconstruct });
    if (tokens === null) throw new Error("Unable to access tokens per owner");
    tokens.remove(token_id);
    if (tokens.isEmpty()) this.tokensPerOwner().remove(owner);
    else this.tokensPerOwner().set(owner, tokens);
    this.addToOwner(receiver_id, token_id);
  }

  @view({})
  nft_token({ token_id }: { token_id: string }): { token_id: string; owner_id: string } | null {
    const owner_id = this.ownerById.get(token_id);
    return owner_id === null ? null : { token_id, owner_id };
  }

  @view({})
  nft_total_supply(): string {
    return String(this.ownerById.length);
  }

  @view({})
  nft_tokens(): { token_id: string; owner_id: string }[] {
    return this.ownerById.toArray().map(([token_id, owner_id]) => ({ token_id, owner_id }));
  }

  @view({})
  nft_tokens_for_owner({ account_id }: { account_id: string }): string[] {
    const tokens = this.tokensPerOwner().get(account_id, { reconstructor: UnorderedSet.reconstruct });
    return tokens === null ? [] : (tokens.toArray() as string[]);
  }

  @view({})
  nft_supply_for_owner({ account_id }: { account_id: string }): string {
    const tokens = this.tokensPerOwner().get(account_id, { reconstructor: UnorderedSet.reconstruct });
    return String(tokens === null ? 0 : tokens.length);
  }

  private theSet(which: "a" | "b"): UnorderedSet<string> {
    return which === "a" ? this.setA : this.setB;
  }

  private tokensPerOwner(): LookupMap<UnorderedSet<string>> {
    return new LookupMap<UnorderedSet<string>>("t");
  }

  private addToOwner(owner: string, tokenId: string): void {
    const perOwner = this.tokensPerOwner();
    const tokens =
      perOwner.get(owner, { reconstructor: UnorderedSet.reconstruct }) ??
      new UnorderedSet<string>(tokensPerOwnerPrefix(owner));
    tokens.set(tokenId);
    perOwner.set(owner, tokens);
  }
}
