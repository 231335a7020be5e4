// One NATS connection per proxy process, shared by the JetStream store, the chat transport and jobs.
// Secrets (nkey seed, creds) are read from files named in the config; only file names are ever logged.
import { readFileSync } from "node:fs";
import {
  type Authenticator,
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
} from "nats";
import type { NatsConfig } from "./config.js";

export type NatsConnectOptions = Pick<NatsConfig, "servers" | "nkey_seed_file" | "creds_file" | "tls"> & {
  name?: string;
};

function readSecretFile(file: string, what: string): Uint8Array {
  try {
    return new TextEncoder().encode(readFileSync(file, "utf8").trim());
  } catch (e) {
    throw new Error(
      `cannot read the NATS ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
}

export function natsConnectionOptions(config: NatsConnectOptions): ConnectionOptions {
  if (config.servers.length === 0) throw new Error("nats.servers is empty");
  const authenticators: Authenticator[] = [];
  if (config.nkey_seed_file) {
    const seed = readSecretFile(config.nkey_seed_file, "nkey seed");
    authenticators.push(nkeyAuthenticator(seed));
  }
  if (config.creds_file) authenticators.push(credsAuthenticator(readSecretFile(config.creds_file, "creds")));
  const tlsWanted =
    config.tls.required ||
    Boolean(config.tls.ca_file || config.tls.cert_file) ||
    config.servers.some((s) => s.startsWith("tls://"));
  const options: ConnectionOptions = {
    servers: config.servers,
    name: config.name,
    // Proxies outlive NATS restarts: keep reconnecting, buffered publishes are sent on reconnect.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: 10_000,
  };
  if (authenticators.length > 0) options.authenticator = authenticators;
  if (tlsWanted) {
    options.tls = {
      ...(config.tls.cert_file ? { certFile: config.tls.cert_file } : {}),
      ...(config.tls.key_file ? { keyFile: config.tls.key_file } : {}),
      ...(config.tls.ca_file ? { caFile: config.tls.ca_file } : {}),
    };
  }
  return options;
}

export function connectNats(config: NatsConnectOptions): Promise<NatsConnection> {
  return connect(natsConnectionOptions(config));
}
