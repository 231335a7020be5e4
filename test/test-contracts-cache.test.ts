// The test-contract cache (test/helpers/contracts.ts) under concurrent builds of one target: the JS
// bundle and the WASM of one contract write the same <name>.js, and ava runs test files (and the
// tests in a file) at once. Each build works in a folder of its own and renames its result into place.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { buildIntoCache } from "./helpers/contracts.js";
import { projectRoot } from "./helpers/localnet.js";

const run = promisify(execFile);
const source = join(projectRoot, "test", "contracts", "status.ts");
const scratch = join(projectRoot, "build", `test-contracts-race-${process.pid}`);
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("tmp-"));

test("the JS bundle and the WASM of one contract built at the same moment both come out whole", async (t) => {
  const cacheDir = join(scratch, "in-process");
  const [js, wasm] = await Promise.all([
    buildIntoCache({ name: "status", source, inputs: [source], kind: "js", cacheDir }),
    buildIntoCache({ name: "status", source, inputs: [source], kind: "wasm", cacheDir }),
  ]);
  t.regex(readFileSync(js, "utf8"), /export \{[^}]*set_status/);
  t.deepEqual([...readFileSync(wasm).subarray(0, 4)], [0, 0x61, 0x73, 0x6d], "a WASM module");
  t.deepEqual(leftovers(cacheDir), [], "no work folder is left behind");
});

test("two processes building the same contract at once both get the one cached file", async (t) => {
  const cacheDir = join(scratch, "two-processes");
  const script = `
    const { buildIntoCache } = await import(${JSON.stringify(join(projectRoot, "test", "helpers", "contracts.ts"))});
    const source = ${JSON.stringify(source)};
    console.log(await buildIntoCache({ name: "status", source, inputs: [source], kind: "js", cacheDir: ${JSON.stringify(cacheDir)} }));`;
  const build = () =>
    run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: projectRoot });
  const [a, b] = await Promise.all([build(), build()]);
  t.is(a.stdout.trim(), b.stdout.trim());
  t.regex(readFileSync(a.stdout.trim(), "utf8"), /export \{[^}]*set_status/);
  t.deepEqual(leftovers(cacheDir), []);
});
