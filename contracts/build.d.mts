export const projectRoot: string;
export interface BuiltContract {
  name: string;
  jsPath: string;
  wasmTarget: string;
  rawBytes: number;
  minifiedBytes: number;
}
export interface BuiltContractWasm extends BuiltContract {
  wasmBytes: number;
}
export function buildContract(source: string, outDir?: string): Promise<BuiltContract>;
/**
 * The JS bundle plus the WASM at `wasmTarget`: near-sdk-js's own toolchain when installed, otherwise
 * the offline pipeline (contracts/wasm/build-wasm.mjs), cached under build/wasm-cache/.
 */
export function buildContractWasm(
  source: string,
  outDir?: string,
  options?: { log?: (line: string) => void },
): Promise<BuiltContractWasm>;
export function bundleSizes(jsPath: string): Promise<{ rawBytes: number; minifiedBytes: number }>;
/** What buildContractWasm's output depends on besides the contract source, as a hash. */
export function wasmBuildKey(): string;
