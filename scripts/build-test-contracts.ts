// Builds, before the test run, the WASM of every contract the suites deploy (the token and
// WASM_TEST_CONTRACTS), two at a time, so that no test waits minutes on clang inside ava's timeout.
// Later runs find them in the caches (build/test-contracts, build/wasm-cache) and take a second.
// Nothing to do with LOCALNET_CONTRACTS=js (localnet's fast mode deploys the JS bundles).
import { contractWasm, deployedArtifact, tokenWasm, WASM_TEST_CONTRACTS } from "#test/helpers/contracts";

if (deployedArtifact() === "wasm") {
  const names = [...WASM_TEST_CONTRACTS];
  const jobs: [string, () => Promise<string>][] = [
    ["token", tokenWasm],
    ...names.map((n): [string, () => Promise<string>] => [n, () => contractWasm(n)]),
  ];
  const start = performance.now();
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const [name, build] = job;
      const t = performance.now();
      await build();
      console.log(`[contracts] ${name}.wasm ready (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    }
  };
  await Promise.all([worker(), worker()]);
  console.log(
    `[contracts] test contracts built as WASM in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
}
