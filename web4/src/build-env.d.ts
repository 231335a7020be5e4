// Set by bundle.ts per network ("dev" on localnet, "connector" elsewhere); "any" on the dev server.
declare const __WALLET__: "dev" | "connector" | "any";
