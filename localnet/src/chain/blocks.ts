// Block production: one block per transaction (or per fast-forward), all of them final at once.
import { base58, sha256 } from "../encoding.js";
import { EPOCH_LENGTH, FAST_FORWARD_NS_PER_BLOCK } from "./config.js";

export interface Block {
  height: bigint;
  hash: string;
  prevHash: string;
  /** Nanoseconds since the Unix epoch. */
  timestamp: bigint;
  txHashes: string[];
}

const ZERO_HASH = "11111111111111111111111111111111";

export function epochHeight(height: bigint): bigint {
  return height / EPOCH_LENGTH + 1n;
}

/** Epoch ids are the hash of the epoch's first block in nearcore; a stable derived hash is enough here. */
export function epochId(height: bigint): string {
  const epoch = epochHeight(height);
  return epoch === 1n ? ZERO_HASH : base58.encode(sha256(Buffer.from(`epoch:${epoch}`)));
}

export class BlockStore {
  private readonly byHeight = new Map<bigint, Block>();
  private readonly byHash = new Map<string, Block>();
  private latestBlock: Block | undefined;
  /**
   * Added to the wall clock: the time fast-forwards accrued (nearcore's sandbox keeps it for the
   * node's life), or how far ahead the latest stored block is after a restart.
   */
  private clockOffsetNs = 0n;

  get latest(): Block {
    if (!this.latestBlock) throw new Error("chain has no genesis block");
    return this.latestBlock;
  }

  get genesis(): Block | undefined {
    return this.byHeight.get(this.earliestHeight);
  }

  private earliestHeight = 0n;

  getByHeight(height: bigint): Block | undefined {
    return this.byHeight.get(height);
  }

  getByHash(hash: string): Block | undefined {
    return this.byHash.get(hash);
  }

  add(block: Block): void {
    if (this.byHeight.size === 0) this.earliestHeight = block.height;
    this.byHeight.set(block.height, block);
    this.byHash.set(block.hash, block);
    if (!this.latestBlock || block.height > this.latestBlock.height) {
      this.latestBlock = block;
      const now = BigInt(Date.now()) * 1_000_000n;
      if (block.timestamp > now + this.clockOffsetNs) this.clockOffsetNs = block.timestamp - now;
    }
  }

  /** sandbox_fast_forward: later blocks are `deltaHeight` × 1.3 s further ahead of the wall clock. */
  fastForward(deltaHeight: bigint): Block {
    this.clockOffsetNs += deltaHeight * FAST_FORWARD_NS_PER_BLOCK;
    return this.next([], deltaHeight);
  }

  /** The next block's header; the block joins the store when `add` is called with it. */
  next(txHashes: string[], heightDelta = 1n): Block {
    const prev = this.latest;
    const height = prev.height + heightDelta;
    const now = BigInt(Date.now()) * 1_000_000n + this.clockOffsetNs;
    // Block time never stands still or goes back (nearcore: prev + 1 ns at least).
    const minimum = prev.timestamp + 1_000n;
    const timestamp = now > minimum ? now : minimum;
    return {
      height,
      prevHash: prev.hash,
      timestamp,
      txHashes,
      hash: blockHash(height, prev.hash, timestamp, txHashes),
    };
  }

  static genesisBlock(timestamp: bigint, height = 0n): Block {
    return {
      height,
      prevHash: ZERO_HASH,
      timestamp,
      txHashes: [],
      hash: blockHash(height, ZERO_HASH, timestamp, []),
    };
  }
}

function blockHash(height: bigint, prevHash: string, timestamp: bigint, txHashes: string[]): string {
  return base58.encode(sha256(Buffer.from(`${height}|${prevHash}|${timestamp}|${txHashes.join(",")}`)));
}
