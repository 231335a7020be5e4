// The web4 app is served by the contract's web4_get from root paths ("/", "/assets/…"), so the base
// is "/". bundle.ts builds once per network (it sets __WALLET__ and turns code splitting off); the
// dev server (`npm run web4:dev`) carries both wallets and picks by the config's network.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  publicDir: false,
  define: { __WALLET__: JSON.stringify("any") },
  build: {
    outDir: "dist/app",
    emptyOutDir: true,
    target: "es2022",
    // web4 pays storage per byte: no source maps, no preload polyfill, no inlined data URIs.
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 200,
  },
  server: { host: "127.0.0.1", strictPort: false },
});
