// Builds near-sdk-js contracts for tests on demand, cached under build/test-contracts/ by a hash of
// their sources, so parallel ava processes and later runs reuse them.
// `deployable*` build what the chain runs: the WASM (contracts/build.mjs: offline pipeline, its own
// cache below this one), on localnet and on a real near-sandbox alike. LOCALNET_CONTRACTS=js makes
// them deploy the JS bundle instead, localnet's fast mode (near-sandbox cannot run it): the one seam
// that chooses the artifact. `builtContract` is always the JS bundle (VM tests), `*Wasm` always WASM.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { buildContract, buildContractWasm, wasmBuildKey } from "#contracts/build";
import { projectRoot, usingRealSandbox } from "./localnet.js";

const builds = new Map<string, Promise<string>>();
const sdkVersion = (): string =>
  JSON.parse(readFileSync(join(projectRoot, "node_modules", "near-sdk-js", "package.json"), "utf8")).version;

/** JS bundle of test/contracts/<name>.ts (what localnet's VM runs), built on first use. */
export function builtContract(name: string): Promise<string> {
  const source = join(projectRoot, "test", "contracts", `${name}.ts`);
  return cached(name, source, [source], "js");
}

/** The test/contracts the suites deploy as WASM (scripts/build-test-contracts.ts builds them first). */
export const WASM_TEST_CONTRACTS = [
  "ft-receiver",
  "status",
  "cross",
  "trycatch",
  "collections",
  "marshal",
] as const;
export type WasmTestContract = (typeof WASM_TEST_CONTRACTS)[number];

/** Which artifact tests deploy: "wasm", or "js" when LOCALNET_CONTRACTS=js on localnet. */
export function deployedArtifact(): "js" | "wasm" {
  const mode = process.env.LOCALNET_CONTRACTS ?? "wasm";
  if (mode !== "js" && mode !== "wasm") throw new Error(`LOCALNET_CONTRACTS must be js or wasm, not ${mode}`);
  return mode === "js" && !usingRealSandbox() ? "js" : "wasm";
}

/** test/contracts/<name>.ts as tests deploy it (see deployedArtifact). */
export function deployableContract(name: WasmTestContract): Promise<string> {
  const source = join(projectRoot, "test", "contracts", `${name}.ts`);
  return cached(name, source, [source], deployedArtifact());
}

/** contracts/token as tests deploy it (its whole src/ folder is the cache key). */
export function deployableToken(): Promise<string> {
  return token(deployedArtifact());
}

/** contracts/token's WASM (offline pipeline unless near-sdk-js's toolchain is installed). */
export function tokenWasm(): Promise<string> {
  return token("wasm");
}

/** contracts/token's JS bundle (what the WASM embeds: its `export {…}` lists the methods). */
export function tokenJs(): Promise<string> {
  return token("js");
}

/** test/contracts/<name>.ts's WASM. */
export function contractWasm(name: WasmTestContract): Promise<string> {
  const source = join(projectRoot, "test", "contracts", `${name}.ts`);
  return cached(name, source, [source], "wasm");
}

function token(kind: "js" | "wasm"): Promise<string> {
  const srcDir = join(projectRoot, "contracts", "token", "src");
  const files = readdirSync(srcDir)
    .sort()
    .map((f) => join(srcDir, f));
  return cached("token", join(srcDir, "index.ts"), files, kind);
}

function cached(name: string, source: string, inputs: string[], kind: "js" | "wasm"): Promise<string> {
  const key = `${kind}:${source}`;
  let build = builds.get(key);
  if (!build) {
    build = buildIntoCache({ name, source, inputs, kind });
    builds.set(key, build);
  }
  return build;
}

/**
 * Builds one contract artifact into `cacheDir` (default build/test-contracts) unless it is there.
 * Safe when several builds of the same or another artifact run at once, in one process or many.
 */
export async function buildIntoCache({
  name,
  source,
  inputs,
  kind,
  cacheDir = join(projectRoot, "build", "test-contracts"),
}: {
  name: string;
  source: string;
  inputs: string[];
  kind: "js" | "wasm";
  cacheDir?: string;
}): Promise<string> {
  const hash = createHash("sha256").update(sdkVersion());
  if (kind === "wasm") hash.update(wasmBuildKey());
  for (const file of inputs) hash.update(basename(file)).update(readFileSync(file));
  const finalPath = join(cacheDir, `${name}-${hash.digest("hex").slice(0, 16)}.${kind}`);
  if (existsSync(finalPath)) return finalPath;
  // Build in a folder of this build's own and rename: the JS and the WASM of one contract write the
  // same <name>.js, and they (or another process's build of the same target) may run at once.
  mkdirSync(cacheDir, { recursive: true });
  const workDir = mkdtempSync(join(cacheDir, `tmp-${name}-${kind}-`));
  try {
    const built =
      kind === "wasm" ? await buildContractWasm(source, workDir) : await buildContract(source, workDir);
    renameSync(kind === "wasm" ? built.wasmTarget : built.jsPath, finalPath);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  if (!existsSync(finalPath)) throw new Error(`build of ${name} produced nothing`);
  return finalPath;
}
