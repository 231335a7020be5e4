// Runs the `npm start` stack the way a person does: `tsx scripts/start.ts` as a child process, in its
// own process group so stopping it takes localnet, the web4 gateway and the proxy down together.
// Resolves once start prints its "web app" line and returns the URLs it printed.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const TSX = join(root, "node_modules", ".bin", "tsx");

export interface StackPorts {
  rpc: number;
  web4: number;
  proxy: number;
}

export interface Stack {
  home: string;
  ports: StackPorts;
  web4Url: string;
  rpcUrl: string;
  /** Where the app expects the proxy (from --proxy-port), running or not. */
  proxyUrl: string;
  /** Everything start printed so far (stdout and stderr interleaved). */
  output(): string;
  stop(): Promise<void>;
}

/** Process-group ids of the stacks still up, with how to stop each gracefully. */
const running = new Map<number, () => Promise<void>>();

// Last line of defence if the test process dies without its teardown: no orphaned localnet.
process.on("exit", () => {
  for (const pgid of running.keys()) killGroup(pgid, "SIGKILL");
});

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the whole group is already gone
  }
}

/** Ports nobody listens on right now (held together so the three are distinct). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function freeStackPorts(): Promise<StackPorts> {
  const [rpc, web4, proxy] = await freePorts(3);
  return { rpc: rpc!, web4: web4!, proxy: proxy! };
}

/** The environment start would read ports/config from is dropped so the flags alone decide. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(AIPROXY_|LOCALNET_|WEB4_PORT$)/.test(k)) env[k] = v;
  }
  return { ...env, NO_COLOR: "1" };
}

export async function startStack(options: {
  home: string;
  ports: StackPorts;
  args?: string[];
  /** Added to the cleaned environment (e.g. AIPROXY_CONFIG for a proxy YAML). */
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}): Promise<Stack> {
  const { home, ports } = options;
  const child = spawn(
    TSX,
    [
      "scripts/start.ts",
      "--home",
      home,
      "--rpc-port",
      String(ports.rpc),
      "--web4-port",
      String(ports.web4),
      "--proxy-port",
      String(ports.proxy),
      ...(options.args ?? []),
    ],
    { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...cleanEnv(), ...options.env } },
  );
  const pgid = child.pid!;
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    killGroup(pgid, "SIGTERM"); // start.ts closes the proxy and localnet on SIGTERM
    const timer = setTimeout(() => killGroup(pgid, "SIGKILL"), 8_000);
    await exited;
    clearTimeout(timer);
    killGroup(pgid, "SIGKILL"); // anything in the group that outlived its parent
    running.delete(pgid);
  };
  running.set(pgid, stop);

  try {
    await waitForLine(child, () => out, /^\s*web app\s+(\S+)/m, options.readyTimeoutMs ?? 120_000);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- npm start output ---\n${out}`);
  }
  const web4Url = /^\s*web app\s+(\S+)/m.exec(out)![1]!;
  const rpcUrl = /^\s*NEAR RPC\s+(\S+)/m.exec(out)?.[1] ?? `http://127.0.0.1:${ports.rpc}`;
  return {
    home,
    ports,
    web4Url,
    rpcUrl,
    proxyUrl: `http://127.0.0.1:${ports.proxy}`,
    output: () => out,
    stop,
  };
}

function waitForLine(child: ChildProcess, out: () => string, line: RegExp, timeoutMs: number) {
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!line.test(out())) return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`npm start exited (code ${code}) before it was ready`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`npm start not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off("data", check);
      child.off("exit", onExit);
    };
    child.stdout!.on("data", check);
    child.once("exit", onExit);
    check();
  });
}

/** Stops every stack this process started (for after.always). */
export async function stopAllStacks(): Promise<void> {
  await Promise.all([...running.values()].map((stop) => stop()));
}
