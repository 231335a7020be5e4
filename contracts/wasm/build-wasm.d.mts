export interface BuiltWasm {
  /** `outPath` when given, else the cache entry. */
  wasmPath: string;
  cachePath: string;
  bytes: number;
  /** The contract's methods (the bundle's exports), sorted. */
  methods: string[];
  fromCache: boolean;
}
export function buildWasmFromBundle(options: {
  projectRoot: string;
  jsPath: string;
  outPath?: string;
  log?: (line: string) => void;
}): Promise<BuiltWasm>;
export function exportedNames(jsPath: string): Promise<string[]>;
export function builderExterns(builderC: string): Set<string>;
export function verifyContractWasm(
  wasm: Uint8Array,
  expected: { methods: string[]; allowedImports: Set<string> },
): void;
export function pipelineInputs(projectRoot: string): { key: string; tarball: string; tarHash: string };
