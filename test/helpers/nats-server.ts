// Starts a throwaway nats-server (JetStream on, loopback, free port, temp store dir) for one test file.
// Optional TLS (certs made with openssl at test time) and nkey users. Nothing is ever written outside
// the temp dir, and stop() kills the process and removes it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nkeys } from "nats";

export interface NatsServerOptions {
  /** Make a CA + server cert (SAN 127.0.0.1, localhost) and require TLS. */
  tls?: boolean;
  /** Public nkeys (U...) allowed to connect; when set, anonymous clients are refused. */
  nkeyUsers?: string[];
  /**
   * Run this configuration file instead (e.g. the shipped proxy/nats/aiproxy.conf), on loopback, a
   * free port and the temp store dir, with these extra environment variables.
   */
  configFile?: string;
  env?: Record<string, string>;
}

export interface NatsServer {
  url: string;
  port: number;
  dir: string;
  /** CA certificate file when tls is on (clients verify the server with it). */
  caFile?: string;
  stop(): Promise<void>;
}

export interface NkeyUser {
  publicKey: string;
  seedFile: string;
}

export function natsServerBin(): string {
  for (const p of ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"])
    if (existsSync(p)) return p;
  return "nats-server";
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A user nkey pair; the seed goes to a 0600 file in dir (never committed, removed with the dir). */
export function makeNkeyUser(dir: string, name: string): NkeyUser {
  const kp = nkeys.createUser();
  const seedFile = join(dir, `${name}.nk`);
  writeFileSync(seedFile, new TextDecoder().decode(kp.getSeed()), { mode: 0o600 });
  return { publicKey: kp.getPublicKey(), seedFile };
}

function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, "ca.pem");
  const caKey = join(dir, "ca-key.pem");
  const cert = join(dir, "server.pem");
  const key = join(dir, "server-key.pem");
  const csr = join(dir, "server.csr");
  const ext = join(dir, "san.ext");
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  run([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    caKey,
    "-out",
    ca,
    "-days",
    "1",
    "-subj",
    "/CN=aiproxy test CA",
  ]);
  run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    csr,
    "-subj",
    "/CN=localhost",
  ]);
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  run([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    "1",
    "-extfile",
    ext,
  ]);
  return { ca, cert, key };
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), "aiproxy-nats-"));
  const port = await freePort();
  const lines = [
    `listen: "127.0.0.1:${port}"`,
    `jetstream { store_dir: ${JSON.stringify(join(dir, "js"))}, max_memory_store: 64MB, max_file_store: 256MB }`,
    // Several proxies in one test share the account: one server, no clustering.
    `max_payload: 1MB`,
  ];
  let caFile: string | undefined;
  if (options.tls) {
    const c = makeCerts(dir);
    caFile = c.ca;
    lines.push(
      `tls { cert_file: ${JSON.stringify(c.cert)}, key_file: ${JSON.stringify(c.key)}, timeout: 5 }`,
    );
  }
  if (options.nkeyUsers?.length) {
    lines.push(`authorization { users: [ ${options.nkeyUsers.map((k) => `{ nkey: ${k} }`).join(", ")} ] }`);
  }
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, `${lines.join("\n")}\n`);
  const args = options.configFile
    ? ["-c", options.configFile, "-a", "127.0.0.1", "-p", String(port), "-sd", join(dir, "js")]
    : ["-c", conf];
  const child: ChildProcess = spawn(natsServerBin(), args, {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 15_000);
    const onData = (b: Buffer) => {
      log += b.toString();
      if (log.includes("Server is ready")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}):\n${log}`));
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (e) {
    await stop();
    throw e;
  }
  const scheme = options.tls ? "tls" : "nats";
  return { url: `${scheme}://127.0.0.1:${port}`, port, dir, caFile, stop };
}

export interface ChildProxy {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGKILL (a crash) or SIGTERM (graceful); resolves when the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `proxy/src/main.ts --config <file>` as a child process; resolves once it prints its URL. */
export async function spawnProxy(configFile: string, env: Record<string, string> = {}): Promise<ChildProxy> {
  const child = spawn(process.execPath, ["--import", "tsx", "proxy/src/main.ts", "--config", configFile], {
    cwd: new URL("../..", import.meta.url).pathname,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start:\n${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /"msg":"aiproxy ready","url":"([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited (${code}):\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    },
  };
}
