// What image, audio and file parts can cost, per model (config `models[].images|audio|file_tokens`).
// Images default to OpenAI's documented gpt-4o formula: `detail: low` costs the base; otherwise the
// image is fitted into 2048x2048, its short side scaled to 768, and costs base + tile per 512-px
// tile. The proxy never fetches a URL (no SSRF, no latency), so a remote image is bounded by the
// largest image the formula allows (8 tiles: 85 + 8 x 170 = 1445 tokens for gpt-4o); a data: URL's
// real size is read from its header (image-size) when the worst case does not fit the balance.
// Audio: tokens_per_second x the longest clip the bytes can hold at min_bytes_per_second. Files
// have no public formula: refused unless the operator sets a per-file bound.
import { imageSize } from "image-size";
import { errors } from "../errors.js";

export type ImageCosts =
  | { mode: "tiles"; base_tokens: number; tile_tokens: number }
  | { mode: "patches"; multiplier: number; max_patches: number }
  | false;

export type AudioCosts = { tokens_per_second: number; min_bytes_per_second: number } | false;

export const GPT_4O_IMAGES: ImageCosts = { mode: "tiles", base_tokens: 85, tile_tokens: 170 };
export const DEFAULT_AUDIO: AudioCosts = { tokens_per_second: 10, min_bytes_per_second: 1000 };

interface Size {
  width: number;
  height: number;
}

function tiles(size: Size): number {
  let { width: w, height: h } = size;
  if (w > 2048 || h > 2048) {
    const s = 2048 / Math.max(w, h);
    w = Math.floor(w * s);
    h = Math.floor(h * s);
  }
  if (Math.min(w, h) > 768) {
    const s = 768 / Math.min(w, h);
    w = Math.floor(w * s);
    h = Math.floor(h * s);
  }
  return Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** The most tiles any image can come to (768 x 2048 after scaling). */
const MAX_TILES = 8;

function patches(size: Size, max: number): number {
  const n = Math.ceil(size.width / 32) * Math.ceil(size.height / 32);
  if (n <= max) return n;
  // Scaled down until it fits max_patches (OpenAI's rule); never more than max.
  return max;
}

/** The size of a data: URL image, undefined for remote URLs and unreadable data. */
export function dataUrlImageSize(url: string): Size | undefined {
  if (!url.startsWith("data:")) return undefined;
  const comma = url.indexOf(",");
  if (comma < 0 || !url.slice(0, comma).endsWith(";base64")) return undefined;
  try {
    const { width, height } = imageSize(Buffer.from(url.slice(comma + 1), "base64"));
    return width && height ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tokens one image part can cost. `exact`: read a data: URL's size (costs a base64 decode);
 * otherwise, and for remote URLs, the largest image the formula allows.
 */
export function imageTokens(
  part: { url?: unknown; detail?: unknown },
  costs: ImageCosts,
  exact: boolean,
): number {
  if (costs === false)
    throw errors.badRequest("this model does not take image inputs", "messages", "unsupported_content");
  const size = exact && typeof part.url === "string" ? dataUrlImageSize(part.url) : undefined;
  if (costs.mode === "patches") {
    const n = size ? patches(size, costs.max_patches) : costs.max_patches;
    return Math.ceil(n * costs.multiplier);
  }
  if (part.detail === "low") return costs.base_tokens;
  return costs.base_tokens + costs.tile_tokens * (size ? tiles(size) : MAX_TILES);
}

/** Tokens an input_audio part can cost: the longest clip its bytes can hold. */
export function audioTokens(part: { data?: unknown }, costs: AudioCosts): number {
  if (costs === false)
    throw errors.badRequest("this model does not take audio inputs", "messages", "unsupported_content");
  const data = typeof part.data === "string" ? part.data : "";
  const bytes = Math.ceil((data.length * 3) / 4);
  return Math.ceil((bytes / costs.min_bytes_per_second) * costs.tokens_per_second);
}

export function fileTokens(fileTokensBound: number | undefined): number {
  if (fileTokensBound === undefined)
    throw errors.badRequest(
      "file inputs are not enabled for this model (an operator may set models[].file_tokens)",
      "messages",
      "unsupported_content",
    );
  return fileTokensBound;
}
