// Resolves nearcore's BlockReference ({finality} | {block_id: height | hash} | {sync_checkpoint}).
import type { Block } from "../chain/blocks.js";
import type { Chain } from "../chain/chain.js";
import { unknownBlock } from "./rpc-error.js";

export function resolveBlock(chain: Chain, params: Record<string, unknown>): Block {
  const id = params.block_id;
  if (id === undefined || id === null) return chain.blocks.latest;
  const block =
    typeof id === "number" || (typeof id === "string" && /^\d+$/.test(id))
      ? chain.blocks.getByHeight(BigInt(id))
      : chain.blocks.getByHash(String(id));
  if (!block) throw unknownBlock({ block_id: id });
  return block;
}
