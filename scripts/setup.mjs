#!/usr/bin/env node
// Idempotent post-install setup. `.npmrc` sets ignore-scripts (near-sdk-js's own install scripts
// cannot run offline), which also skips this package's pre/post scripts, so `npm test` and
// `npm start` call this explicitly. It is fast when there is nothing to do.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const quiet = process.argv.includes("--quiet");
const say = (msg) => quiet || console.log(`[setup] ${msg}`);

// better-sqlite3 ships no prebuilt binary we can download offline: build it from source once.
function ensureBetterSqlite() {
  const pkgDir = dirname(require.resolve("better-sqlite3/package.json"));
  if (existsSync(join(pkgDir, "build", "Release", "better_sqlite3.node"))) return;
  say("building better-sqlite3 from source (about a minute, once)...");
  try {
    execFileSync("npm", ["run", "build-release", "--ignore-scripts=false"], {
      cwd: pkgDir,
      stdio: quiet ? "ignore" : "inherit",
    });
  } catch (err) {
    throw new Error(
      `could not build better-sqlite3 (${err.message}). Install a C++ toolchain (apt-get install -y g++ make python3) and run: node scripts/setup.mjs`,
    );
  }
}

// near-workspaces runs `${NEAR_SANDBOX_BINARY_PATH}/near-sandbox` with an almost empty environment,
// so the launcher names node and the CLI by absolute path instead of relying on PATH.
function writeSandboxLauncher() {
  const binDir = join(root, ".localnet", "bin");
  mkdirSync(binDir, { recursive: true });
  const launcher = join(binDir, "near-sandbox");
  const cli = join(root, "localnet", "dist", "near-sandbox.mjs");
  const body = `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`;
  writeFileSync(launcher, body);
  chmodSync(launcher, 0o755);
}

// localnet's executables are bundled once with esbuild so that a node start costs no TS compile.
async function buildLocalnet() {
  const entry = join(root, "localnet", "src", "near-sandbox.ts");
  if (!existsSync(entry)) return;
  const { build } = await import("esbuild");
  await build({
    entryPoints: { "near-sandbox": entry, localnet: join(root, "localnet", "src", "cli.ts") },
    outdir: join(root, "localnet", "dist"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    // The contract runtime (QuickJS) becomes its own chunk, loaded on the first contract call only.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    logLevel: "warning",
  });
}

ensureBetterSqlite();
await buildLocalnet();
writeSandboxLauncher();
say("ready");
