/** Everything the app reads from the environment, read once, with its defaults. */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

export interface AppConfig {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  pgliteDir: string;
  maxBodyBytes: number | undefined;
  /** TASKPORT_MAX_IMPORT_BYTES: the largest import request (the API's default when unset). */
  maxImportBytes: number | undefined;
  secretKey: string | undefined;
  /** PostgreSQL connections this process may hold. */
  poolSize: number | undefined;
  apiOnly: boolean;
  /** TASKPORT_JOB_WORKERS=0: this process runs no background jobs (it still enqueues them). */
  jobWorkers: boolean;
  /** TASKPORT_JOB_STALE_SECONDS: a running job silent this long is retried elsewhere. */
  jobStaleSeconds: number | undefined;
  admin: { email: string; password: string; token: string } | undefined;
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name} must be a positive integer, got "${value}".`);
  return n;
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
    secretKey: env.TASKPORT_SECRET_KEY || undefined,
    poolSize: positiveInt("DATABASE_POOL_SIZE", env.DATABASE_POOL_SIZE),
    apiOnly: env.TASKPORT_API_ONLY === "1" || env.TASKPORT_API_ONLY === "true",
    jobWorkers: !(env.TASKPORT_JOB_WORKERS === "0" || env.TASKPORT_JOB_WORKERS === "false"),
    jobStaleSeconds: positiveInt("TASKPORT_JOB_STALE_SECONDS", env.TASKPORT_JOB_STALE_SECONDS),
    admin: email && password && token ? { email, password, token } : undefined,
  };
}
