// The web4 app is served by the contract's web4_get from root paths ("/", "/assets/…"), so the
// base is "/" and every asset keeps a content hash. The manifest lets bundle.ts pick, per network,
// only the chunks that network can load (dev wallet on localnet, wallet-selector elsewhere).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  publicDir: false,
  build: {
    outDir: "dist/app",
    emptyOutDir: true,
    manifest: true,
    target: "es2022",
    // web4 pays storage per byte: no source maps, no preload polyfill, no inlined data URIs.
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    // The wallet-selector chunk (testnet/mainnet only) is big by nature; the localnet bundle excludes it.
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      onLog(level, log, handler) {
        // js-sha256 (inside wallet-selector) probes for node's crypto with eval; harmless in browsers.
        if (log.code === "EVAL") return;
        handler(level, log);
      },
    },
  },
  server: { host: "127.0.0.1", strictPort: false },
});
