// The folder boundaries `npm run lint` enforces, shown failing and passing: Biome, with this
// repository's biome.json, lints the fixture trees in test/fixtures/lint/ (left out of the normal
// run by biome.json's files.includes). `violating/` has a relative import from proxy/ into wire/, a
// production file reaching in through #internal/*, and a two-file import cycle; `corrected/` is
// the same code through declared entries and without the cycle.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";

const root = process.cwd();
const biome = path.join(root, "node_modules", "@biomejs", "biome", "bin", "biome");
const config = JSON.parse(readFileSync("biome.json", "utf8"));

/** Lints a fixture tree laid out as if at the repository's root; returns "rule file" per diagnostic. */
function lintFixture(name: string): { status: number | null; found: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), `lint-${name}-`));
  try {
    cpSync("biome.json", path.join(dir, "biome.json"));
    cpSync(path.join("test", "fixtures", "lint", name), dir, { recursive: true });
    const run = spawnSync(process.execPath, [biome, "lint", "--reporter=json", "."], {
      cwd: dir,
      encoding: "utf8",
    });
    const report = JSON.parse(run.stdout) as {
      diagnostics: { category: string; location: { path?: string } }[];
    };
    const found = report.diagnostics.map((d) => `${d.category} ${d.location.path}`).sort();
    return { status: run.status, found };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a deep cross-folder import, an #internal/* reach-in and an import cycle fail the lint", (t) => {
  const { status, found } = lintFixture("violating");
  t.not(status, 0);
  t.deepEqual(found, [
    "lint/style/noRestrictedImports proxy/src/deep.ts",
    "lint/style/noRestrictedImports proxy/src/reach-in.ts",
    "lint/suspicious/noImportCycles proxy/src/cycle-a.ts",
    "lint/suspicious/noImportCycles proxy/src/cycle-b.ts",
  ]);
});

test("the corrected fixture, through declared entries and without the cycle, passes", (t) => {
  const { status, found } = lintFixture("corrected");
  t.deepEqual(found, []);
  t.is(status, 0);
});

test("the normal lint run leaves the fixtures out", (t) => {
  t.true(config.files.includes.includes("!test/fixtures/lint"));
});

test("every tracked source file is within the depth the boundary overrides cover", (t) => {
  // biome.json states the rule once per depth ("*/*" may not import "../**", ...): a file deeper
  // than the deepest override would be checked by none.
  const depths = (config.overrides as { includes: string[] }[]).flatMap((o) =>
    o.includes.map((g) => g.split("/").length - 1),
  );
  const covered = Math.max(...depths);
  const sources = execFileSync("git", ["ls-files"], { encoding: "utf8" })
    .split("\n")
    .filter((f) => /\.(ts|mts|cts|tsx|js|mjs|cjs)$/.test(f) && !f.startsWith("test/fixtures/lint/"));
  t.true(sources.length > 300);
  t.deepEqual(
    sources.filter((f) => f.split("/").length - 1 > covered),
    [],
  );
});

test("every entry in package.json imports names a file that exists", (t) => {
  const imports = JSON.parse(readFileSync("package.json", "utf8")).imports as Record<string, string>;
  t.true(Object.keys(imports).length >= 5);
  for (const [name, target] of Object.entries(imports)) {
    const fixed = target.includes("*") ? path.dirname(target.slice(0, target.indexOf("*")) + "x") : target;
    t.true(existsSync(path.join(root, fixed)), `${name} -> ${target}`);
  }
});

test("docs/architecture.md names every entry in package.json imports", (t) => {
  const doc = readFileSync("docs/architecture.md", "utf8");
  const imports = JSON.parse(readFileSync("package.json", "utf8")).imports as Record<string, string>;
  const named = (entry: string) =>
    entry.startsWith("#internal/") ? doc.includes("`#internal/<folder>/*`") : doc.includes(`\`${entry}\``);
  t.deepEqual(
    Object.keys(imports).filter((entry) => !named(entry)),
    [],
  );
});
