#!/usr/bin/env node
// Builds near-sdk-js contracts.
//   node contracts/build.mjs            -> contracts/<name>/build/<name>.js for every contracts/<name>/src/index.ts
//   node contracts/build.mjs --wasm     -> also the WASM, with near-sdk-js's full toolchain
// The JS bundle (`createJsFileWithRollup`) is exactly the code the WASM embeds; localnet runs it directly.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const sdkCli = join(projectRoot, "node_modules", "near-sdk-js", "lib", "cli", "cli.js");
const toolchainDir = join(projectRoot, "node_modules", "near-sdk-js", "lib", "cli", "deps");

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

/** The JS bundle plus the WASM (near-sdk-js's full toolchain must be installed). */
export async function buildContractWasm(source, outDir) {
  const built = await buildContract(source, outDir);
  await buildWasm(source, built.wasmTarget);
  return built;
}

async function buildWasm(source, wasmTarget) {
  if (!existsSync(join(toolchainDir, "qjsc")) || !existsSync(join(toolchainDir, "wasi-sdk"))) {
    throw new Error(
      "near-sdk-js's WASM toolchain (qjsc, wasi-sdk, binaryen) is not installed: our .npmrc skips its download.\n" +
        "On a machine with internet access run:  (cd node_modules/near-sdk-js && node lib/cli/post-install.js)\n" +
        "then run `npm run build:wasm` again. localnet and the tests use the JS bundle and do not need it.",
    );
  }
  await run(
    process.execPath,
    [sdkCli, "build", relative(projectRoot, source), relative(projectRoot, wasmTarget)],
    {
      cwd: projectRoot,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
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
      if (wantWasm) console.log(`[build] ${relative(projectRoot, built.wasmTarget)}`);
    }
  } catch (err) {
    console.error(`[build] ${err.message}`);
    process.exit(1);
  }
}
