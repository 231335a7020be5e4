// Files from the read-only shared/fixtures folder (reference contracts we run but do not ship):
// $NEAR_SHARED_FIXTURES, then ../shared/fixtures beside the checkout, then /work/shared/fixtures.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { projectRoot } from "./localnet.js";

export function sharedFixture(name: string): string {
  const dirs = process.env.NEAR_SHARED_FIXTURES
    ? [process.env.NEAR_SHARED_FIXTURES]
    : [resolve(projectRoot, "..", "shared", "fixtures"), "/work/shared/fixtures"];
  for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(
    `shared fixture ${name} not found in ${dirs.join(", ")}: set NEAR_SHARED_FIXTURES to the folder holding it`,
  );
}
