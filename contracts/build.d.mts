export const projectRoot: string;
export interface BuiltContract {
  name: string;
  jsPath: string;
  wasmTarget: string;
  rawBytes: number;
  minifiedBytes: number;
}
export function buildContract(source: string, outDir?: string): Promise<BuiltContract>;
/** The JS bundle plus the WASM (near-sdk-js's full toolchain must be installed). */
export function buildContractWasm(source: string, outDir?: string): Promise<BuiltContract>;
export function bundleSizes(jsPath: string): Promise<{ rawBytes: number; minifiedBytes: number }>;
