// The offline WASM build (contracts/wasm/): the token's WASM imports only NEAR host functions, exports
// every contract method, and really runs its bundle (a call through a minimal host reaches the
// contract's JS); two processes building one bundle at once link it once; the verification and the
// toolchain lookup fail with a readable reason.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";
import { buildContract, projectRoot } from "#contracts/build";
import { builderExterns, buildWasmFromBundle, verifyContractWasm } from "#internal/contracts/wasm/build-wasm";
import { TOOLCHAIN_ENV, ToolchainError, toolchainDir } from "#internal/contracts/wasm/toolchain";
import { tokenWasm } from "./helpers/contracts.js";

const builderC = readFileSync(
  join(projectRoot, "node_modules", "near-sdk-js", "builder", "builder.c"),
  "utf8",
);
const nearHostFunctions = builderExterns(builderC);
const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

test("the token's WASM imports only NEAR host functions and exports every method of its bundle", async (t) => {
  const wasm = readFileSync(await tokenWasm());
  const mod = new WebAssembly.Module(wasm);
  const imports = WebAssembly.Module.imports(mod);
  t.deepEqual([...new Set(imports.map((i) => i.module))], ["env"]);
  for (const i of imports) t.true(nearHostFunctions.has(i.name), `env.${i.name} is not a NEAR host function`);
  for (const name of [
    "storage_write",
    "storage_read",
    "input",
    "value_return",
    "panic_utf8",
    "promise_create",
  ])
    t.true(
      imports.some((i) => i.name === name),
      `imports ${name}`,
    );

  // What near-sdk-js's cli.js takes as the method list: the bundle's exports, by importing it.
  const methods = Object.keys(await import((await tokenBundle()).jsPath));
  t.true(methods.includes("ft_transfer") && methods.includes("new") && methods.includes("web4_get"));
  const exported = WebAssembly.Module.exports(mod);
  t.deepEqual(exported.map((e) => e.name).sort(), [...methods, "memory"].sort());
  for (const e of exported) t.is(e.kind, e.name === "memory" ? "memory" : "function");
});

test("a call into the WASM runs the contract's JS (an uninitialised token panics with its own message)", async (t) => {
  const host = new MiniHost();
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(await tokenWasm())), {
    env: host.env(),
  });
  host.memory = instance.exports.memory as WebAssembly.Memory;
  t.throws(() => (instance.exports.ft_total_supply as () => void)(), { instanceOf: GuestPanic });
  // The panic text is one the bundle itself holds: QuickJS ran the contract's code.
  const firstLine = (host.panic ?? "").split("\n")[0] ?? "";
  t.true(firstLine.length > 10, `panic: ${host.panic}`);
  t.true(readFileSync((await tokenBundle()).jsPath, "utf8").includes(firstLine), firstLine);
  t.deepEqual(host.storageReads, ["STATE"]);
});

test("a second build of the same bundle comes from the cache", async (t) => {
  const { jsPath } = await tokenBundle();
  const first = await buildWasmFromBundle({ projectRoot, jsPath, log: () => {} });
  const again = await buildWasmFromBundle({ projectRoot, jsPath, log: () => {} });
  t.true(again.fromCache);
  t.is(again.cachePath, first.cachePath);
  t.true(again.methods.includes("ft_transfer_call"));
});

test("two processes building one new bundle at the same moment link it once and both get it", async (t) => {
  mkdirSync(bundleDir, { recursive: true });
  const jsPath = join(bundleDir, "fresh.js");
  // New bytes every run: the link really happens (the cache is keyed by the bundle).
  writeFileSync(jsPath, `export function fine() {}\n// ${process.pid} ${Date.now()}\n`);
  const script = `
    const { buildWasmFromBundle } = await import(${JSON.stringify(join(here, "..", "contracts", "wasm", "build-wasm.mjs"))});
    const r = await buildWasmFromBundle({ projectRoot: ${JSON.stringify(projectRoot)}, jsPath: ${JSON.stringify(jsPath)}, log: () => {} });
    console.log(JSON.stringify({ cachePath: r.cachePath, fromCache: r.fromCache, bytes: r.bytes }));`;
  const build = async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: projectRoot,
    });
    return JSON.parse(stdout) as { cachePath: string; fromCache: boolean; bytes: number };
  };
  const [a, b] = await Promise.all([build(), build()]);
  try {
    t.is(a.cachePath, b.cachePath);
    t.deepEqual([a.fromCache, b.fromCache].sort(), [false, true], "one linked, the other waited for it");
    t.is(statSync(a.cachePath).size, a.bytes);
  } finally {
    rmSync(a.cachePath, { force: true });
  }
});

test("verification refuses a WASI import and a missing method", (t) => {
  const wasi = moduleImporting("wasi_snapshot_preview1", "fd_write");
  t.throws(() => verifyContractWasm(wasi, { methods: [], allowedImports: nearHostFunctions }), {
    message: /imports wasi_snapshot_preview1\.fd_write, which NEAR does not provide/,
  });
  const unknown = moduleImporting("env", "printf");
  t.throws(() => verifyContractWasm(unknown, { methods: [], allowedImports: nearHostFunctions }), {
    message: /imports env\.printf/,
  });
  const fine = moduleImporting("env", "log_utf8");
  t.notThrows(() => verifyContractWasm(fine, { methods: [], allowedImports: nearHostFunctions }));
  t.throws(() => verifyContractWasm(fine, { methods: ["ft_transfer"], allowedImports: nearHostFunctions }), {
    message: /does not export ft_transfer/,
  });
});

test("a method named like a NEAR host function is refused before compiling (its C function would clash)", async (t) => {
  mkdirSync(bundleDir, { recursive: true });
  const jsPath = join(bundleDir, "clash.js");
  writeFileSync(jsPath, "export function register_len() {}\nexport function fine() {}\n");
  await t.throwsAsync(buildWasmFromBundle({ projectRoot, jsPath, log: () => {} }), {
    message: /register_len share a NEAR host function's name/,
  });
});

test(`a missing toolchain names the tarball and ${TOOLCHAIN_ENV}`, (t) => {
  const saved = process.env[TOOLCHAIN_ENV];
  process.env[TOOLCHAIN_ENV] = join(projectRoot, "no-such-toolchain");
  try {
    const err = t.throws(() => toolchainDir(projectRoot), { instanceOf: ToolchainError });
    t.regex(err?.message ?? "", /near-quickjs-v0\.1\.3\.tar\.gz/);
    t.regex(err?.message ?? "", /no-such-toolchain/);
    t.regex(err?.message ?? "", new RegExp(TOOLCHAIN_ENV));
  } finally {
    if (saved === undefined) delete process.env[TOOLCHAIN_ENV];
    else process.env[TOOLCHAIN_ENV] = saved;
  }
});

// The token's bundle, built once for this file in a folder of its own.
const bundleDir = join(projectRoot, "build", "test-wasm-build", String(process.pid));
let bundle: ReturnType<typeof buildContract> | undefined;
const tokenBundle = () => {
  mkdirSync(bundleDir, { recursive: true });
  bundle ??= buildContract(join(projectRoot, "contracts", "token", "src", "index.ts"), bundleDir);
  return bundle;
};
test.after.always(() => rmSync(bundleDir, { recursive: true, force: true }));

/** A module with one imported function `() -> ()`. */
function moduleImporting(module: string, name: string): Uint8Array {
  const str = (s: string) => [s.length, ...new TextEncoder().encode(s)];
  const types = [0x01, 0x60, 0x00, 0x00];
  const imports = [0x01, ...str(module), ...str(name), 0x00, 0x00];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, types.length, ...types],
    ...[0x02, imports.length, ...imports],
  ]);
}

class GuestPanic extends Error {}

/** Just enough of NEAR's host for a view call on an empty account. */
class MiniHost {
  memory: WebAssembly.Memory | undefined;
  panic: string | undefined;
  readonly storageReads: string[] = [];
  private readonly registers = new Map<bigint, Uint8Array>();

  env(): Record<string, (...args: bigint[]) => unknown> {
    const env: Record<string, (...args: bigint[]) => unknown> = {};
    for (const name of nearHostFunctions)
      env[name] = () => {
        throw new Error(`the contract called ${name}, which this test host does not implement`);
      };
    return Object.assign(env, {
      input: (reg: bigint) => void this.registers.set(reg, new TextEncoder().encode("{}")),
      register_len: (reg: bigint) => {
        const data = this.registers.get(reg);
        return data ? BigInt(data.length) : 2n ** 64n - 1n;
      },
      read_register: (reg: bigint, ptr: bigint) => {
        this.bytes(ptr, this.registers.get(reg)?.length ?? 0).set(this.registers.get(reg) ?? []);
      },
      storage_read: (len: bigint, ptr: bigint) => {
        this.storageReads.push(new TextDecoder().decode(this.bytes(ptr, Number(len))));
        return 0n;
      },
      panic_utf8: (len: bigint, ptr: bigint) => {
        this.panic = new TextDecoder().decode(this.bytes(ptr, Number(len)));
        throw new GuestPanic(this.panic);
      },
    });
  }

  private bytes(ptr: bigint, len: number): Uint8Array {
    return new Uint8Array((this.memory as WebAssembly.Memory).buffer, Number(ptr), len);
  }
}
