// Configuration of the scale-out pieces (NATS connection, chat transport, async jobs). Kept here so
// proxy/src/config.ts only plugs these schemas and settings in.
import { z } from "zod";

/** "true"/"false"/"1"/"0" from the environment or flags; z.coerce.boolean would read "false" as true. */
export const flag = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0"])])
  .transform((v) => v === true || v === "true" || v === "1");

export const natsSchema = z.strictObject({
  /** NATS server URLs (nats://host:4222, tls://host:4222). Empty: no NATS at all. */
  servers: z.array(z.string().min(1)).default([]),
  /** Connection name shown by the server (defaults to aiproxy-<instance_id>). */
  name: z.string().optional(),
  /** File holding an nkey seed (SU...): nkey authentication. Never the seed itself. */
  nkey_seed_file: z.string().optional(),
  /** A .creds file (JWT + nkey seed), for operator/decentralized auth. */
  creds_file: z.string().optional(),
  tls: z
    .strictObject({
      /** Client certificate and key, for servers that verify clients (mutual TLS). */
      cert_file: z.string().optional(),
      key_file: z.string().optional(),
      /** CA that signed the server's certificate (when not in the system store). */
      ca_file: z.string().optional(),
      /** Force TLS even when the URLs say nats:// (tls:// URLs imply it). */
      required: flag.default(false),
    })
    .prefault({}),
  /** Subjects are <prefix>.chat.completions, <prefix>.jobs.submit, <prefix>.jobs.get. */
  subject_prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/)
    .default("aiproxy"),
  /** Queue group: every proxy in the group shares the request load. */
  queue_group: z.string().min(1).default("aiproxy"),
  /** Serve the chat and job subjects (needs servers). */
  transport: flag.default(true),
  /**
   * Production mode refuses a bus that requires no authentication (anyone could join the queue group
   * or rewrite the ledger, T21). true: start anyway, logging that loudly at every start.
   */
  allow_open_bus: flag.default(false),
});
export type NatsConfig = z.infer<typeof natsSchema>;

export const jobsSchema = z
  .strictObject({
    /** POST /v1/jobs, GET /v1/jobs/{id} and the job subjects (needs nats.servers). */
    enabled: flag.default(false),
    /** Run jobs in this process (a proxy can accept jobs without working on them). */
    worker: flag.default(true),
    /** JetStream work-queue stream holding queued jobs. */
    stream: z.string().min(1).default("AIPROXY_JOBS"),
    /** KV bucket holding job status and results (its TTL is result_ttl_ms). */
    bucket: z.string().min(1).default("aiproxy_jobs"),
    /** How long a job's status and result are kept after its last update. */
    result_ttl_ms: z.coerce.number().int().min(1000).default(3_600_000),
    /** Upper bound for one job run (upstream time included). */
    timeout_ms: z.coerce.number().int().min(1000).default(600_000),
    /** A job unacknowledged this long (its worker died) is redelivered to another worker. */
    ack_wait_ms: z.coerce.number().int().min(500).default(30_000),
    /** Deliveries before a job is marked failed. */
    max_attempts: z.coerce.number().int().min(1).max(20).default(3),
    /** Jobs one worker runs at the same time. */
    concurrency: z.coerce.number().int().min(1).max(256).default(4),
  })
  // A dead worker's job is redelivered after ack_wait_ms; its record must still exist then, or the
  // job would look never started and be released unbilled.
  .refine((jobs) => jobs.result_ttl_ms > jobs.ack_wait_ms, {
    message: "jobs.result_ttl_ms must be longer than jobs.ack_wait_ms",
    path: ["result_ttl_ms"],
  });
export type JobsConfig = z.infer<typeof jobsSchema>;

export const storeJetStreamFields = {
  /** `jetstream` only: KV bucket of the shared ledger (default aiproxy_ledger_<contract_id>, config.ts storeBucket). */
  bucket: z.string().min(1).optional(),
  /** `jetstream` only: bucket replicas (1, 3 or 5 on a cluster). */
  replicas: z.coerce.number().int().min(1).max(5).default(1),
};

/** Env/flag settings for the scale-out keys (same shape as settings.ts's Setting). */
export const scaleOutSettings = [
  { path: "store.type", env: "AIPROXY_STORE", flag: "--store <type>", describe: "sqlite | jetstream" },
  {
    path: "store.bucket",
    env: "AIPROXY_STORE_BUCKET",
    flag: "--store-bucket <name>",
    describe: "JetStream KV bucket of the ledger",
  },
  {
    path: "nats.servers",
    env: "AIPROXY_NATS_SERVERS",
    flag: "--nats-servers <urls>",
    describe: "comma-separated NATS server URLs",
    list: true,
  },
  {
    path: "nats.nkey_seed_file",
    env: "AIPROXY_NATS_NKEY_SEED_FILE",
    flag: "--nats-nkey-seed-file <file>",
    describe: "file with the NATS nkey seed",
  },
  {
    path: "nats.creds_file",
    env: "AIPROXY_NATS_CREDS_FILE",
    flag: "--nats-creds-file <file>",
    describe: "NATS credentials file",
  },
  {
    path: "nats.tls.cert_file",
    env: "AIPROXY_NATS_TLS_CERT_FILE",
    flag: "--nats-tls-cert-file <file>",
    describe: "NATS client certificate",
  },
  {
    path: "nats.tls.key_file",
    env: "AIPROXY_NATS_TLS_KEY_FILE",
    flag: "--nats-tls-key-file <file>",
    describe: "NATS client key",
  },
  {
    path: "nats.tls.ca_file",
    env: "AIPROXY_NATS_TLS_CA_FILE",
    flag: "--nats-tls-ca-file <file>",
    describe: "CA of the NATS server certificate",
  },
  {
    path: "nats.subject_prefix",
    env: "AIPROXY_NATS_SUBJECT_PREFIX",
    flag: "--nats-subject-prefix <prefix>",
    describe: "NATS subject prefix",
  },
  {
    path: "nats.transport",
    env: "AIPROXY_NATS_TRANSPORT",
    flag: "--nats-transport <bool>",
    describe: "serve chat requests over NATS",
  },
  { path: "jobs.enabled", env: "AIPROXY_JOBS", flag: "--jobs <bool>", describe: "async jobs API" },
  {
    path: "jobs.worker",
    env: "AIPROXY_JOBS_WORKER",
    flag: "--jobs-worker <bool>",
    describe: "run queued jobs in this process",
  },
  {
    path: "jobs.result_ttl_ms",
    env: "AIPROXY_JOBS_RESULT_TTL_MS",
    flag: "--jobs-result-ttl-ms <ms>",
    describe: "job result lifetime",
  },
  {
    path: "jobs.timeout_ms",
    env: "AIPROXY_JOBS_TIMEOUT_MS",
    flag: "--jobs-timeout-ms <ms>",
    describe: "job run limit",
  },
  {
    path: "jobs.ack_wait_ms",
    env: "AIPROXY_JOBS_ACK_WAIT_MS",
    flag: "--jobs-ack-wait-ms <ms>",
    describe: "redeliver a job after this silence",
  },
  {
    path: "jobs.concurrency",
    env: "AIPROXY_JOBS_CONCURRENCY",
    flag: "--jobs-concurrency <n>",
    describe: "jobs run at once per worker",
  },
];
