export const TOOLCHAIN_ENV: string;
export const QUICKJS_TARBALL: string;
export const WASM_TARGET_FLAGS: string[];
export class ToolchainError extends Error {}
export function toolchainDir(projectRoot: string): string;
export function systemTools(): { clang: string; gcc: string; lld: string };
