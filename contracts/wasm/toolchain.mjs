// Finds what an offline near-sdk-js WASM build needs: near's QuickJS fork source (a tarball kept outside
// the repository, see ../README.md) and Debian's C toolchains. Every miss is an error that says what
// to install or where to put it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** Environment variable naming the folder with near-quickjs-v0.1.3.tar.gz. */
export const TOOLCHAIN_ENV = "NEAR_WASM_TOOLCHAIN";
export const QUICKJS_TARBALL = "near-quickjs-v0.1.3.tar.gz";
const APT_PACKAGES = "clang lld wasi-libc libclang-rt-dev-wasm32 gcc";
const TARGET = ["--target=wasm32-wasi", "--sysroot=/usr"];

export class ToolchainError extends Error {}

/** The folder holding the QuickJS tarball: $NEAR_WASM_TOOLCHAIN, ../shared/toolchain, /work/shared/toolchain. */
export function toolchainDir(projectRoot) {
  const fromEnv = process.env[TOOLCHAIN_ENV];
  const candidates = fromEnv
    ? [resolve(fromEnv)]
    : [resolve(projectRoot, "..", "shared", "toolchain"), "/work/shared/toolchain"];
  const found = candidates.find((dir) => existsSync(join(dir, QUICKJS_TARBALL)));
  if (found) return found;
  throw new ToolchainError(
    `${QUICKJS_TARBALL} (near's QuickJS fork, tag v0.1.3, the source near-sdk-js 2.0 compiles) not found in ` +
      `${candidates.join(", ")}.\n` +
      `Put it in one of those folders, or set ${TOOLCHAIN_ENV}=<folder that contains it>` +
      (fromEnv ? "." : ` (it is unset).`),
  );
}

/** Versions of the system tools (part of every cache key); throws naming the packages when one is missing. */
export function systemTools() {
  const version = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
        .split("\n")[0]
        .trim();
    } catch {
      return undefined;
    }
  };
  const clang = version("clang", ["--version"]);
  const gcc = version("gcc", ["--version"]);
  const lld = version("wasm-ld", ["--version"]);
  const missing = [];
  if (!clang) missing.push("clang (package clang)");
  if (!lld) missing.push("wasm-ld (package lld)");
  if (!gcc) missing.push("gcc (package gcc)");
  if (!existsSync("/usr/include/wasm32-wasi/stdlib.h") || !existsSync("/usr/lib/wasm32-wasi/libc.a"))
    missing.push("the wasm32-wasi libc (package wasi-libc)");
  if (clang) {
    const builtins = version("clang", [...TARGET, "-rtlib=compiler-rt", "-print-libgcc-file-name"]);
    if (!builtins || !existsSync(builtins))
      missing.push("the wasm32 compiler runtime (package libclang-rt-dev-wasm32)");
  }
  if (missing.length > 0) {
    throw new ToolchainError(
      `Cannot build WASM offline: missing ${missing.join(", ")}.\n` +
        `Install them with:  sudo apt-get install ${APT_PACKAGES}`,
    );
  }
  return { clang, gcc, lld };
}

/** clang flags for wasm32-wasi against Debian's wasi-libc (its headers live under /usr/include/wasm32-wasi). */
export const WASM_TARGET_FLAGS = [...TARGET, "-I/usr/include/wasm32-wasi"];
