#!/usr/bin/env node
// Builds near-sdk-js contracts.
//   node contracts/build.mjs            -> contracts/<name>/build/<name>.js for every contracts/<name>/src/index.ts
//   node contracts/build.mjs --wasm     -> also contracts/<name>/build/<name>.wasm
// The JS bundle (`createJsFileWithRollup`) is exactly the code the WASM embeds. The WASM comes from
// near-sdk-js's own toolchain when its download is installed, otherwise from the offline pipeline in
// wasm/build-wasm.mjs (near's QuickJS source + Debian's clang), cached under build/wasm-cache/.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildWasmFromBundle, pipelineInputs } from "./wasm/build-wasm.mjs";

const run = promisify(execFile);
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const sdkCli = join(projectRoot, "node_modules", "near-sdk-js", "lib", "cli", "cli.js");
const sdkDepsDir = join(projectRoot, "node_modules", "near-sdk-js", "lib", "cli", "deps");

/**
 * Bundles one near-sdk-js contract source to JS. Returns the bundle path and its sizes.
 * `source` must live inside this project (babel resolves its plugins from the source's folder).
 */
export async function buildContract(source, outDir = join(dirname(dirname(resolve(source))), "build")) {
  // contracts/<name>/src/index.ts is named after its folder; any other file after itself.
  const file = basename(source).replace(/\.(ts|js)$/, "");
  const name = file === "index" ? basename(dirname(dirname(resolve(source)))) : file;
  const wasmTarget = join(outDir, `${name}.wasm`);
  await run(
    process.execPath,
    [
      sdkCli,
      "createJsFileWithRollup",
      relative(projectRoot, resolve(source)),
      relative(projectRoot, wasmTarget),
    ],
    {
      cwd: projectRoot,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const jsPath = join(outDir, `${name}.js`);
  return { name, jsPath, wasmTarget, ...(await bundleSizes(jsPath)) };
}

/** Raw and minified size: what reaches QuickJS bytecode tracks the minified size. */
export async function bundleSizes(jsPath) {
  const code = readFileSync(jsPath, "utf8");
  const { transform } = await import("esbuild");
  const min = await transform(code, { minify: true, format: "esm", target: "es2020" });
  return { rawBytes: Buffer.byteLength(code), minifiedBytes: Buffer.byteLength(min.code) };
}

/**
 * The JS bundle plus the WASM. `log` receives progress lines of the slow steps (default: stderr).
 * Returns the bundle's fields plus `wasmBytes`; the WASM is at `wasmTarget`.
 * @param {string} source
 * @param {string} [outDir]
 * @param {{ log?: (line: string) => void }} [options]
 */
export async function buildContractWasm(source, outDir, { log } = {}) {
  const built = await buildContract(source, outDir);
  if (sdkToolchainInstalled()) {
    // Not `near-sdk-js build`: its type check runs tsc with --moduleResolution node, which cannot
    // resolve the contract's type-only `#wire` import (npm run typecheck checks the contract with
    // contracts/tsconfig.json instead). Validate, then compile the bundle built above.
    const opts = { cwd: projectRoot, maxBuffer: 16 * 1024 * 1024 };
    await run(process.execPath, [sdkCli, "validateContract", relative(projectRoot, source)], opts);
    await run(
      process.execPath,
      [sdkCli, "transpileJsAndBuildWasm", relative(projectRoot, built.wasmTarget)],
      opts,
    );
  } else {
    await buildWasmFromBundle({ projectRoot, jsPath: built.jsPath, outPath: built.wasmTarget, log });
  }
  return { ...built, wasmBytes: statSync(built.wasmTarget).size };
}

/** What buildContractWasm's output depends on besides the contract source, as a hash. */
export function wasmBuildKey() {
  return sdkToolchainInstalled() ? "near-sdk-js-toolchain" : pipelineInputs(projectRoot).key;
}

/** near-sdk-js's downloaded toolchain (its post-install script; our .npmrc skips it). */
function sdkToolchainInstalled() {
  return ["qjsc", "wasi-sdk", "binaryen"].every((f) => existsSync(join(sdkDepsDir, f)));
}

function contractSources() {
  const dir = join(projectRoot, "contracts");
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "src", "index.ts")))
    .map((d) => join(dir, d.name, "src", "index.ts"));
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const wantWasm = process.argv.includes("--wasm");
  try {
    for (const source of contractSources()) {
      const built = wantWasm ? await buildContractWasm(source) : await buildContract(source);
      console.log(
        `[build] ${relative(projectRoot, built.jsPath)}: ${kb(built.rawBytes)} raw, ${kb(built.minifiedBytes)} minified`,
      );
      if ("wasmBytes" in built)
        console.log(`[build] ${relative(projectRoot, built.wasmTarget)}: ${kb(built.wasmBytes)}`);
    }
  } catch (err) {
    console.error(`[build] ${err.message}`);
    process.exit(1);
  }
}
