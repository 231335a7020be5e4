// Builds a near-sdk-js contract's WASM offline, the way `near-sdk-js build` does, from near's QuickJS
// fork source (toolchain.mjs finds it) and Debian's clang/lld/wasi-libc instead of the toolchain
// near-sdk-js downloads:
//   1. host `qjsc` (gcc) turns the rollup bundle into bytecode in a C header (code.h);
//   2. methods.h gets one DEFINE_NEAR_METHOD(name) per export of the bundle;
//   3. clang compiles near-sdk-js's builder/builder.c with the QuickJS sources to wasm32-wasi with
//      near-sdk-js's own flags (lib/cli/cli.js createWasmContract);
//   4. wasi-stubs.c replaces the WASI imports (see that file for why not near-sdk-js's wasi-stub);
//   5. the result must import only NEAR host functions (builder.c's `extern`s, module "env") and
//      export every method.
// Everything is cached under build/wasm-cache/ by a hash of its inputs (tool versions, sources,
// flags): host qjsc and the QuickJS objects once per machine, the final WASM per bundle. Processes
// building at the same time (ava workers) wait for each other instead of compiling twice.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { QUICKJS_TARBALL, systemTools, toolchainDir, WASM_TARGET_FLAGS } from "./toolchain.mjs";

const execFileAsync = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** Bump when the recipe below changes in a way the hashed inputs do not show. */
const RECIPE = "near-sdk-js-2.0.0-builder/1";

// near-sdk-js 2.0 lib/cli/cli.js, createWasmContract.
const DEFINES = ["-D_GNU_SOURCE", '-DCONFIG_VERSION="2021-03-27"', "-DCONFIG_BIGNUM"];
const QUICKJS_WASM_SOURCES = [
  "quickjs.c",
  "libregexp.c",
  "libunicode.c",
  "cutils.c",
  "quickjs-libc-min.c",
  "libbf.c",
];
const COMPILE_FLAGS = [...WASM_TARGET_FLAGS, "-Oz", "-flto", ...DEFINES];
const LINK_FLAGS = [
  "-nostartfiles",
  "-lm",
  "-Wl,--no-entry",
  "-Wl,--allow-undefined",
  `-Wl,-z,stack-size=${256 * 1024}`,
  "-Wl,--lto-O3",
];
// The QuickJS Makefile's qjsc, without LTO (it only has to emit bytecode).
const QJSC_SOURCES = [
  "qjsc.c",
  "quickjs.c",
  "libregexp.c",
  "libunicode.c",
  "cutils.c",
  "quickjs-libc.c",
  "libbf.c",
];
const QJSC_FLAGS = ["-O1", ...DEFINES]; // -O1: 4x faster to build than -O2, same bytecode; -O0 leaves inline functions undefined
const QJSC_LIBS = ["-lm", "-ldl", "-lpthread"];

const sha256 = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(typeof p === "string" ? p : (JSON.stringify(p) ?? "")).update("\0");
  return h.digest("hex");
};
const sha256File = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const secondsSince = (start) => `${((performance.now() - start) / 1000).toFixed(1)} s`;

/**
 * Builds (or takes from the cache) the WASM of the rollup bundle `jsPath`. Copies it to `outPath`
 * when given. `log` receives progress lines (default: stderr).
 */
export async function buildWasmFromBundle({ projectRoot, jsPath, outPath, log = defaultLog }) {
  const recipe = pipelineInputs(projectRoot);
  const methods = await exportedNames(jsPath);
  const { tools, tarball, tarHash, builderC, stubsC } = recipe;
  // builder.c defines one C function per method beside the host functions it declares.
  const clashes = methods.filter((m) => builderExterns(builderC).has(m));
  if (clashes.length > 0)
    throw new Error(
      `contract method(s) ${clashes.join(", ")} share a NEAR host function's name: rename them`,
    );
  const cache = join(projectRoot, "build", "wasm-cache");
  const key = sha256(recipe.key, methods, readFileSync(jsPath).toString("latin1"));
  const cached = join(cache, "contracts", `${key.slice(0, 24)}.wasm`);
  let fromCache = true;
  await once(cache, `contract-${key}`, cached, async () => {
    fromCache = false;
    const start = performance.now();
    const src = await quickjsSource(cache, tarball, tarHash, log);
    const [qjsc, objects] = await Promise.all([
      hostQjsc(cache, src, sha256(RECIPE, tarHash, tools.gcc, QJSC_FLAGS), log),
      quickjsObjects(cache, src, sha256(RECIPE, tarHash, tools.clang, COMPILE_FLAGS), log),
    ]);
    log(`linking ${methods.length} methods into WASM (clang LTO, the slow step)...`);
    const linkStart = performance.now();
    const wasm = await linkContract({ cache, src, qjsc, objects, jsPath, methods, builderC, stubsC });
    verifyContractWasm(wasm, { methods, allowedImports: builderExterns(builderC) });
    writeAtomic(cached, wasm);
    log(
      `WASM ${(wasm.length / 1024).toFixed(0)} KB, linked in ${secondsSince(linkStart)} (total ${secondsSince(start)})`,
    );
  });
  if (outPath) {
    mkdirSync(dirname(outPath), { recursive: true });
    copyFileSync(cached, outPath);
  }
  return { wasmPath: outPath ?? cached, cachePath: cached, bytes: statSync(cached).size, methods, fromCache };
}

/**
 * Everything but the bundle that the WASM depends on, and its hash (`key`): callers that cache
 * WASM files of their own (test/helpers/contracts.ts) include it in their keys.
 */
export function pipelineInputs(projectRoot) {
  const tools = systemTools();
  const tarball = join(toolchainDir(projectRoot), QUICKJS_TARBALL);
  const tarHash = sha256File(tarball);
  const builderC = readFileSync(
    join(projectRoot, "node_modules", "near-sdk-js", "builder", "builder.c"),
    "utf8",
  );
  const stubsC = readFileSync(join(here, "wasi-stubs.c"), "utf8");
  const key = sha256(RECIPE, tarHash, tools, QJSC_FLAGS, COMPILE_FLAGS, LINK_FLAGS, builderC, stubsC);
  return { key, tools, tarball, tarHash, builderC, stubsC };
}

/**
 * The bundle's export names, in order: what near-sdk-js's cli.js gets with Object.keys(await import(bundle)),
 * read here from esbuild's metafile so that building never runs contract code.
 */
export async function exportedNames(jsPath) {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [jsPath],
    bundle: false,
    write: false,
    metafile: true,
    format: "esm",
    outdir: "out",
    logLevel: "silent",
  });
  const names = Object.values(result.metafile.outputs).flatMap((o) => o.exports ?? []);
  if (names.includes("panic"))
    throw new Error("'panic' is a reserved word, please use another name for contract method");
  return names.sort();
}

/** The NEAR host functions builder.c declares: the only imports a near-sdk-js contract may have. */
export function builderExterns(builderC) {
  return new Set([...builderC.matchAll(/^extern\s+\w+\s+(\w+)\s*\(/gm)].map((m) => m[1]));
}

/** Throws unless `wasm` imports only `env` functions in `allowedImports` and exports every method. */
export function verifyContractWasm(wasm, { methods, allowedImports }) {
  const mod = new WebAssembly.Module(wasm);
  const bad = WebAssembly.Module.imports(mod).filter(
    (i) => i.module !== "env" || i.kind !== "function" || !allowedImports.has(i.name),
  );
  if (bad.length > 0) {
    throw new Error(
      `the WASM imports ${bad.map((i) => `${i.module}.${i.name}`).join(", ")}, which NEAR does not provide` +
        " (a WASI function missing from contracts/wasm/wasi-stubs.c, or a C symbol left undefined)",
    );
  }
  const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  const missing = methods.filter((m) => !exported.has(m));
  if (missing.length > 0) throw new Error(`the WASM does not export ${missing.join(", ")}`);
}

async function quickjsSource(cache, tarball, tarHash, log) {
  const dir = join(cache, `quickjs-src-${tarHash.slice(0, 16)}`);
  await once(cache, `src-${tarHash}`, dir, async () => {
    log(`unpacking ${QUICKJS_TARBALL}...`);
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await run("tar", ["-xzf", tarball, "-C", tmp]);
    if (!existsSync(join(tmp, "quickjs", "quickjs.c")))
      throw new Error(`${tarball} does not unpack to quickjs/`);
    renameSync(tmp, dir);
  });
  return join(dir, "quickjs");
}

async function hostQjsc(cache, src, key, log) {
  const out = join(cache, `qjsc-${key.slice(0, 16)}`);
  await once(cache, `qjsc-${key}`, out, async () => {
    log("building the host qjsc with gcc (once per machine)...");
    const start = performance.now();
    const tmp = `${out}.tmp-${process.pid}`;
    await run("gcc", [...QJSC_FLAGS, "-o", tmp, ...QJSC_SOURCES.map((f) => join(src, f)), ...QJSC_LIBS]);
    renameSync(tmp, out);
    log(`host qjsc built in ${secondsSince(start)}`);
  });
  return out;
}

/** QuickJS compiled for wasm32 (LLVM bitcode, -flto), reused by every contract. */
async function quickjsObjects(cache, src, key, log) {
  const dir = join(cache, `quickjs-wasm32-${key.slice(0, 16)}`);
  await once(cache, `objects-${key}`, dir, async () => {
    log("compiling QuickJS for wasm32 with clang (once per machine)...");
    const start = performance.now();
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const queue = [...QUICKJS_WASM_SOURCES];
    const worker = async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const t = performance.now();
        await run("clang", [
          ...COMPILE_FLAGS,
          "-c",
          join(src, file),
          "-o",
          join(tmp, file.replace(/\.c$/, ".o")),
        ]);
        log(`  ${file} (${secondsSince(t)})`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(2, cpus().length)) }, worker));
    renameSync(tmp, dir);
    log(`QuickJS compiled in ${secondsSince(start)}`);
  });
  return QUICKJS_WASM_SOURCES.map((f) => join(dir, f.replace(/\.c$/, ".o")));
}

async function linkContract({ cache, src, qjsc, objects, jsPath, methods, builderC, stubsC }) {
  // A folder of this link's own: one process links several contracts at once (build-test-contracts).
  mkdirSync(join(cache, "tmp"), { recursive: true });
  const work = mkdtempSync(join(cache, "tmp", `link-${process.pid}-`));
  try {
    await run(qjsc, ["-c", "-m", "-o", join(work, "code.h"), "-N", "code", jsPath]);
    writeFileSync(join(work, "methods.h"), methods.map((m) => `DEFINE_NEAR_METHOD(${m})\n`).join(""));
    // builder.c includes the QuickJS headers through near-sdk-js's download folder; point it at -I instead.
    const prefix = '"../node_modules/near-sdk-js/lib/cli/deps/quickjs/';
    if (!builderC.includes(prefix))
      throw new Error(`near-sdk-js's builder.c no longer includes ${prefix}…: update build-wasm.mjs`);
    writeFileSync(join(work, "builder.c"), builderC.replaceAll(prefix, '"'));
    writeFileSync(join(work, "wasi-stubs.c"), stubsC);
    const out = join(work, "contract.wasm");
    const { stderr } = await run("clang", [
      ...COMPILE_FLAGS,
      `-I${src}`,
      `-I${work}`,
      join(work, "builder.c"),
      join(work, "wasi-stubs.c"),
      ...objects,
      ...LINK_FLAGS,
      "-o",
      out,
    ]);
    // wasm-ld links a mismatched signature as a trap and only warns: never ship that.
    if (/signature mismatch/i.test(stderr)) throw new Error(`wasm-ld: ${stderr.trim()}`);
    return readFileSync(out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function run(cmd, args) {
  try {
    return await execFileAsync(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const output = `${e.stderr ?? ""}${e.stdout ?? ""}`.trim().split("\n").slice(-30).join("\n");
    throw new Error(`${cmd} failed (${e.code ?? e.signal}): ${cmd} ${args.join(" ")}\n${output}`);
  }
}

function writeAtomic(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * Runs `produce` unless `product` exists, holding a lock directory so that only one process
 * produces it; the others wait and then find it. A lock whose owner died is taken over.
 */
async function once(cache, name, product, produce) {
  if (existsSync(product)) return;
  const lock = join(cache, "locks", name);
  mkdirSync(dirname(lock), { recursive: true });
  while (!tryLock(lock)) {
    if (existsSync(product)) return;
    if (lockIsStale(lock)) rmSync(lock, { recursive: true, force: true });
    else await sleep(250);
  }
  try {
    if (!existsSync(product)) await produce();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The lock appears with its owner's pid already inside (a renamed folder), never ownerless. */
function tryLock(lock) {
  const mine = mkdtempSync(`${lock}.new-`);
  writeFileSync(join(mine, "pid"), String(process.pid));
  try {
    renameSync(mine, lock);
    return true;
  } catch (e) {
    rmSync(mine, { recursive: true, force: true });
    if (e.code === "EEXIST" || e.code === "ENOTEMPTY") return false;
    throw e;
  }
}

function lockIsStale(lock) {
  try {
    const pid = Number(readFileSync(join(lock, "pid"), "utf8"));
    process.kill(pid, 0);
    return false;
  } catch (e) {
    if (e.code === "EPERM") return false;
    if (e.code === "ENOENT") {
      // Released a moment ago, or a lock without a pid (older builds): give it a few seconds.
      try {
        return Date.now() - statSync(lock).mtimeMs > 5000;
      } catch {
        return false;
      }
    }
    return true;
  }
}

function defaultLog(line) {
  process.stderr.write(`[wasm] ${line}\n`);
}
