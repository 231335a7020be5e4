// The repository's own docs stay true: every relative link in a tracked Markdown file points at a
// file inside the repository (nothing outside the checkout, such as ../shared), and the threat list in
// docs/architecture.md names exactly the threats the tests attack (a test titled "Tnn …").
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";

const root = process.cwd();
const tracked = execFileSync("git", ["ls-files"], { encoding: "utf8" }).split("\n").filter(Boolean);

test("every relative Markdown link resolves inside the repository", (t) => {
  const broken: string[] = [];
  for (const file of tracked.filter((f) => f.endsWith(".md") && !f.includes("node_modules/"))) {
    const text = readFileSync(file, "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!target || /^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
      const resolved = path.resolve(path.dirname(file), decodeURI(target.split("#")[0] ?? ""));
      const inside = resolved === root || resolved.startsWith(`${root}${path.sep}`);
      if (!inside || !existsSync(resolved)) broken.push(`${file}: ${target}`);
    }
  }
  t.deepEqual(broken, []);
});

test("docs/architecture.md lists exactly the threats the tests attack", (t) => {
  const doc = readFileSync("docs/architecture.md", "utf8");
  const listed = [...doc.matchAll(/^\| (T\d\d) \|/gm)].map((m) => m[1]);
  const attacked = new Set<string>();
  for (const file of tracked.filter((f) => /^test\/.*\.test\.ts$/.test(f))) {
    for (const [, id] of readFileSync(file, "utf8").matchAll(/test(?:\.serial)?\(\s*["'`](T\d\d)\b/g))
      attacked.add(id as string);
  }
  t.true(listed.length >= 24);
  t.deepEqual(listed, [...attacked].sort());
});
