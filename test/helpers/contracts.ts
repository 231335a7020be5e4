// Builds the near-sdk-js test contracts in test/contracts/ on demand. Bundles are cached under
// build/test-contracts/ by a hash of their source, so parallel ava processes and later runs reuse them.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildContract } from "../../contracts/build.mjs";
import { projectRoot } from "./localnet.js";

const builds = new Map<string, Promise<string>>();

/** Path of the JS bundle of test/contracts/<name>.ts, built on first use. */
export function builtContract(name: string): Promise<string> {
  let build = builds.get(name);
  if (!build) {
    build = buildCached(name);
    builds.set(name, build);
  }
  return build;
}

async function buildCached(name: string): Promise<string> {
  const source = join(projectRoot, "test", "contracts", `${name}.ts`);
  const sdkVersion = JSON.parse(
    readFileSync(join(projectRoot, "node_modules", "near-sdk-js", "package.json"), "utf8"),
  ).version;
  const hash = createHash("sha256")
    .update(readFileSync(source))
    .update(sdkVersion)
    .digest("hex")
    .slice(0, 16);
  const cacheDir = join(projectRoot, "build", "test-contracts");
  const finalPath = join(cacheDir, `${name}-${hash}.js`);
  if (existsSync(finalPath)) return finalPath;
  // Build in a private folder and rename: another process may be building the same contract.
  const workDir = join(cacheDir, `tmp-${process.pid}-${name}`);
  mkdirSync(workDir, { recursive: true });
  try {
    const built = (await buildContract(source, workDir)) as { jsPath: string };
    renameSync(built.jsPath, finalPath);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return finalPath;
}
