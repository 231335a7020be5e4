// WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever COMMIT
// crosses `wal_autocheckpoint` pages: copying pages into the database file and two fsyncs, on the
// request path (about 40 % of the ledger's cost per request in the proxy bench). Here a worker
// thread with its own connection runs PASSIVE checkpoints on a timer instead; the request path only
// appends to the WAL. Crash safety does not change: a committed transaction is in the WAL whether or
// not it has been checkpointed, and SQLite replays the WAL on the next open.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

// Plain JS so the worker needs no TypeScript loader; better-sqlite3 is resolved here and passed in.
const source = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch {}
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(path: string, intervalMs = 200): Checkpointer {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(source, { eval: true, workerData: { path, driver, intervalMs } });
  worker.unref();
  // A failed worker only means checkpoints fall back to the connection's own (large) autocheckpoint.
  worker.on("error", () => {});
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      if (!stopping) {
        worker.ref(); // keep the process alive until the worker has closed its connection
        worker.postMessage("stop");
        setTimeout(() => void worker.terminate(), 2000).unref();
        stopping = exited;
      }
      return stopping;
    },
  };
}
