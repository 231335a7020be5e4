// Replica identity (T20). A proxy's instance id is the owner tag of its reservations, and startup
// recovery bills the open reservations of its own id: two live processes with one id would bill each
// other's in-flight requests. So, without any configuration:
// - the id is drawn once per data dir (`<data_dir>/instance-id`) and kept, so a restart (after a
//   crash too) recovers its own reservations; an in-memory ledger gets a fresh id per process;
// - it is leased in the ledger itself (SQLite table or JetStream key), renewed every ttl/3. A second
//   process claiming an id whose lease is live refuses to start and says who holds it. A lease whose
//   holder died is taken over at once on the same host (its pid is gone) or after its ttl elsewhere.
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "./logger.js";
import type { ConversationStore, InstanceLease } from "./store/types.js";

export const LEASE_TTL_MS = 30_000;

export class IdentityError extends Error {
  override name = "IdentityError";
}

export interface Identity {
  id: string;
  /** Stops renewing and gives the lease up. */
  release(): Promise<void>;
}

function persistedId(dataDir: string): string {
  const file = join(dataDir, "instance-id");
  if (existsSync(file)) {
    const id = readFileSync(file, "utf8").trim();
    if (id) return id;
  }
  mkdirSync(dataDir, { recursive: true });
  const id = `proxy-${randomBytes(4).toString("hex")}`;
  // wx: two processes drawing at once keep the first id written.
  try {
    writeFileSync(file, `${id}\n`, { flag: "wx", mode: 0o644 });
    return id;
  } catch {
    return readFileSync(file, "utf8").trim() || id;
  }
}

/** A process of this host is still running (a lease held by a dead pid here can be taken at once). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface ClaimOptions {
  /** `instance_id` from the config, when an operator set one. */
  configured: string | undefined;
  /** Where the drawn id is kept; undefined for an in-memory ledger (a fresh id per process). */
  dataDir: string | undefined;
  logger: Logger;
  ttlMs?: number;
}

export async function claimIdentity(store: ConversationStore, options: ClaimOptions): Promise<Identity> {
  const ttl = options.ttlMs ?? LEASE_TTL_MS;
  const id =
    options.configured ??
    (options.dataDir ? persistedId(options.dataDir) : `proxy-${randomBytes(4).toString("hex")}`);
  const nonce = randomUUID();
  const startedAt = Date.now();
  const lease = (): InstanceLease => ({
    id,
    nonce,
    host: hostname(),
    pid: process.pid,
    started_at: startedAt,
    expires_at: Date.now() + ttl,
  });
  let result = await store.claimInstance(lease());
  if (!result.ok && result.held.host === hostname() && !alive(result.held.pid)) {
    options.logger.warn({ instance_id: id, pid: result.held.pid }, "taking over the lease of a dead process");
    result = await store.claimInstance(lease(), result.held.nonce);
  }
  if (!result.ok) {
    const held = result.held;
    const seconds = Math.max(0, Math.ceil((held.expires_at - Date.now()) / 1000));
    throw new IdentityError(
      `instance ${id} is held by pid ${held.pid} on ${held.host} (started ${new Date(held.started_at).toISOString()}); ` +
        `two proxies on one ledger must not share an identity: give this one its own data_dir or instance_id, ` +
        `or stop the other (a dead holder's lease expires within ${seconds} s)`,
    );
  }
  const timer = setInterval(
    () => {
      store.claimInstance(lease()).then(
        (r) => {
          if (!r.ok)
            options.logger.error(
              { instance_id: id, holder_pid: r.held.pid, holder_host: r.held.host },
              "lost the instance lease to another process: two proxies now share an identity",
            );
        },
        (e) =>
          options.logger.warn(
            { err: (e as Error).message, instance_id: id },
            "instance lease renewal failed",
          ),
      );
    },
    Math.max(1000, Math.floor(ttl / 3)),
  );
  timer.unref();
  return {
    id,
    async release() {
      clearInterval(timer);
      await store.releaseInstance(lease()).catch(() => {});
    },
  };
}
