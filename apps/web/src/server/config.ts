/** Everything the app reads from the environment, read once, with its defaults. */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseNetworks } from "@taskport/api";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

export interface AppConfig {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  pgliteDir: string;
  maxBodyBytes: number | undefined;
  /** TASKPORT_MAX_IMPORT_BYTES: the largest import request (the API's default when unset). */
  maxImportBytes: number | undefined;
  /** TASKPORT_ASYNC_IMPORT_BYTES: multipart imports larger than this run as jobs. */
  asyncImportBytes: number | undefined;
  secretKey: string | undefined;
  /** TASKPORT_MEDIA_DIR: where uploaded files are kept (default `.data/media`). */
  mediaDir: string;
  /** TASKPORT_MAX_UPLOAD_BYTES: the largest uploaded file (the API's default when unset). */
  maxUploadBytes: number | undefined;
  /** The PostgreSQL pool: size, prepared statements and the bounds on every wait. */
  postgres: {
    max: number | undefined;
    prepare: boolean | undefined;
    connectTimeoutMs: number | undefined;
    poolTimeoutMs: number | undefined;
    statementTimeoutMs: number | undefined;
    lockTimeoutMs: number | undefined;
    answerTimeoutMs: number | undefined;
  };
  apiOnly: boolean;
  /** TASKPORT_WORKERS: server processes sharing the port (node:cluster); 1 by default. */
  workers: number;
  /** TASKPORT_JOB_WORKERS=0: this process runs no background jobs (it still enqueues them). */
  jobWorkers: boolean;
  /** TASKPORT_JOB_STALE_SECONDS: a running job silent this long is retried elsewhere. */
  jobStaleSeconds: number | undefined;
  /** TASKPORT_LOCAL_FILES_ROOT: the folder local storages may read (unset: none allowed). */
  localFilesRoot: string | undefined;
  admin: { email: string; password: string; token: string } | undefined;
  /** TASKPORT_TRUST_PROXY: a proxy in front appends the client's address to X-Forwarded-For. */
  trustProxy: boolean;
  /**
   * Where webhooks and S3 storages may connect: TASKPORT_OUTBOUND_ALLOW_NETWORKS and
   * _DENY_NETWORKS, with the older TASKPORT_WEBHOOK_ALLOW_NETWORKS and _DENY_NETWORKS added.
   */
  network: { allowNetworks: string[]; denyNetworks: string[] };
  /** Webhook deliveries: timeout, retry schedule, turn-off run. */
  webhooks: {
    timeoutMs: number | undefined;
    retrySeconds: number[] | undefined;
    disableAfterFailures: number | undefined;
  };
}

/** TASKPORT_WORKERS: PGlite is one process's database, so more than one needs DATABASE_URL. */
function workerCount(env: NodeJS.ProcessEnv): number {
  const workers = positiveInt("TASKPORT_WORKERS", env.TASKPORT_WORKERS) ?? 1;
  if (workers > 1 && !env.DATABASE_URL)
    throw new Error(
      "TASKPORT_WORKERS above 1 needs DATABASE_URL: the embedded PGlite belongs to one process.",
    );
  return workers;
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/** CIDRs from the variable and its older name, checked now so a typo stops the start. */
function networks(env: NodeJS.ProcessEnv, name: string, olderName: string): string[] {
  const items = [...list(env[name]), ...list(env[olderName])];
  parseNetworks(`${name} / ${olderName}`, items);
  return items;
}

function secondsList(name: string, value: string | undefined): number[] | undefined {
  if (value === undefined || value === "") return undefined;
  const items = list(value).map(Number);
  if (items.some((n) => !Number.isFinite(n) || n < 0))
    throw new Error(`${name} must be a comma-separated list of seconds, got "${value}".`);
  return items;
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name} must be a positive integer, got "${value}".`);
  return n;
}

/** A duration in milliseconds where 0 means "none". */
function nonNegativeInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a whole number of milliseconds (0 or more), got "${value}".`);
  return n;
}

function flag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  throw new Error(`${name} must be true or false, got "${value}".`);
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const {
    TASKPORT_ADMIN_EMAIL: email,
    TASKPORT_ADMIN_PASSWORD: password,
    TASKPORT_ADMIN_TOKEN: token,
  } = env;
  const adminParts = [email, password, token].filter(Boolean).length;
  if (adminParts > 0 && adminParts < 3) {
    throw new Error(
      "Set all three of TASKPORT_ADMIN_EMAIL, TASKPORT_ADMIN_PASSWORD and TASKPORT_ADMIN_TOKEN, or none.",
    );
  }
  return {
    port: positiveInt("PORT", env.PORT) ?? 3000,
    host: env.HOST || "0.0.0.0",
    databaseUrl: env.DATABASE_URL || undefined,
    pgliteDir: resolve(repoRoot, env.PGLITE_DIR || ".data/pglite"),
    maxBodyBytes: positiveInt("TASKPORT_MAX_BODY_BYTES", env.TASKPORT_MAX_BODY_BYTES),
    maxImportBytes: positiveInt("TASKPORT_MAX_IMPORT_BYTES", env.TASKPORT_MAX_IMPORT_BYTES),
    asyncImportBytes: positiveInt("TASKPORT_ASYNC_IMPORT_BYTES", env.TASKPORT_ASYNC_IMPORT_BYTES),
    secretKey: env.TASKPORT_SECRET_KEY || undefined,
    mediaDir: resolve(repoRoot, env.TASKPORT_MEDIA_DIR || ".data/media"),
    maxUploadBytes: positiveInt("TASKPORT_MAX_UPLOAD_BYTES", env.TASKPORT_MAX_UPLOAD_BYTES),
    postgres: {
      max: positiveInt("DATABASE_POOL_SIZE", env.DATABASE_POOL_SIZE),
      prepare: flag("DATABASE_PREPARE", env.DATABASE_PREPARE),
      connectTimeoutMs: positiveInt("DATABASE_CONNECT_TIMEOUT_MS", env.DATABASE_CONNECT_TIMEOUT_MS),
      poolTimeoutMs: positiveInt("DATABASE_POOL_TIMEOUT_MS", env.DATABASE_POOL_TIMEOUT_MS),
      statementTimeoutMs: nonNegativeInt(
        "DATABASE_STATEMENT_TIMEOUT_MS",
        env.DATABASE_STATEMENT_TIMEOUT_MS,
      ),
      lockTimeoutMs: nonNegativeInt("DATABASE_LOCK_TIMEOUT_MS", env.DATABASE_LOCK_TIMEOUT_MS),
      answerTimeoutMs: positiveInt("DATABASE_ANSWER_TIMEOUT_MS", env.DATABASE_ANSWER_TIMEOUT_MS),
    },
    apiOnly: env.TASKPORT_API_ONLY === "1" || env.TASKPORT_API_ONLY === "true",
    workers: workerCount(env),
    jobWorkers: !(env.TASKPORT_JOB_WORKERS === "0" || env.TASKPORT_JOB_WORKERS === "false"),
    jobStaleSeconds: positiveInt("TASKPORT_JOB_STALE_SECONDS", env.TASKPORT_JOB_STALE_SECONDS),
    localFilesRoot: env.TASKPORT_LOCAL_FILES_ROOT
      ? resolve(env.TASKPORT_LOCAL_FILES_ROOT)
      : undefined,
    admin: email && password && token ? { email, password, token } : undefined,
    trustProxy: flag("TASKPORT_TRUST_PROXY", env.TASKPORT_TRUST_PROXY) ?? false,
    network: {
      allowNetworks: networks(
        env,
        "TASKPORT_OUTBOUND_ALLOW_NETWORKS",
        "TASKPORT_WEBHOOK_ALLOW_NETWORKS",
      ),
      denyNetworks: networks(
        env,
        "TASKPORT_OUTBOUND_DENY_NETWORKS",
        "TASKPORT_WEBHOOK_DENY_NETWORKS",
      ),
    },
    webhooks: {
      timeoutMs: positiveInt("TASKPORT_WEBHOOK_TIMEOUT_MS", env.TASKPORT_WEBHOOK_TIMEOUT_MS),
      retrySeconds: secondsList(
        "TASKPORT_WEBHOOK_RETRY_SECONDS",
        env.TASKPORT_WEBHOOK_RETRY_SECONDS,
      ),
      disableAfterFailures: positiveInt(
        "TASKPORT_WEBHOOK_DISABLE_AFTER",
        env.TASKPORT_WEBHOOK_DISABLE_AFTER,
      ),
    },
  };
}
