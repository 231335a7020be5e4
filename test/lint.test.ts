// What `npm run lint` checks, checked: every source file of every folder is in a tsconfig that
// `npm run typecheck` runs, so nothing is left out of type-checking by accident.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import ts from "typescript";

const root = process.cwd();
const scripts = JSON.parse(readFileSync("package.json", "utf8")).scripts as Record<string, string>;

test("npm run typecheck covers every tracked TypeScript and JavaScript source file", (t) => {
  const configs = [...(scripts["typecheck"] ?? "").matchAll(/tsc -p (\S+)/g)].map((m) => m[1] as string);
  t.true(configs.length >= 4, scripts["typecheck"]);
  const checked = new Set<string>();
  for (const config of configs) {
    const { config: json, error } = ts.readConfigFile(config, ts.sys.readFile);
    t.falsy(error, config);
    const parsed = ts.parseJsonConfigFileContent(json, ts.sys, path.dirname(path.resolve(config)));
    // The program's files: its roots and what they import (a .d.mts is checked where it is imported).
    const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noResolve: false });
    for (const f of program.getSourceFiles()) checked.add(path.relative(root, f.fileName));
  }
  const sources = execFileSync("git", ["ls-files"], { encoding: "utf8" })
    .split("\n")
    .filter((f) => /\.(ts|mts|cts|tsx|js|mjs|cjs)$/.test(f) && !/(^|\/)(node_modules|dist|build)\//.test(f));
  t.true(sources.length > 300);
  t.deepEqual(
    sources.filter((f) => !checked.has(f)),
    [],
    "each of these files is in no tsconfig that npm run typecheck runs",
  );
});
