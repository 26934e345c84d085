/**
 * Taskport's one process: builds the database once, serves /api/* (tRPC, REST, health) from
 * packages/api's Node handler, and hands every other path to Next.js (custom-server mode), so
 * the API never pays for Next's route handlers.
 */
import cluster from "node:cluster";
import { createServer } from "node:http";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createJobSystem, ensureAdmin, loadSecretKey, openDatabase } from "@taskport/api";
import { createApiHandler, DEFAULT_MAX_BODY_BYTES } from "@taskport/api/http";
import next from "next";
import { setClientAddress } from "./src/server/client-address";
import { readConfig } from "./src/server/config";
import {
  admitPageAction,
  admitPageBody,
  admitPageChange,
  admitPagePath,
} from "./src/server/page-body";
import { setRuntime } from "./src/server/runtime";
import { superviseWorkers } from "./src/server/workers";

const dev = process.argv.includes("--dev");
const config = readConfig();
// TASKPORT_WORKERS > 1: this process only supervises the workers, each of which runs this file.
if (cluster.isPrimary && config.workers > 1) await superviseWorkers(config.workers);

const db = await openDatabase({
  databaseUrl: config.databaseUrl,
  pgliteDir: config.pgliteDir,
  postgres: { ...config.postgres, warn: (message) => console.warn(`[taskport] ${message}`) },
});
console.log(
  config.databaseUrl
    ? "[taskport] database: PostgreSQL (DATABASE_URL)"
    : `[taskport] database: embedded PGlite in ${config.pgliteDir}`,
);
if (config.admin) {
  const admin = await ensureAdmin(db, config.admin);
  console.log(
    `[taskport] admin ${admin.email} is ready; use its token as "Authorization: Token <TASKPORT_ADMIN_TOKEN>".`,
  );
}
const secretKey = await loadSecretKey(db, config.secretKey);

// Background jobs (storage syncs): every process runs workers unless TASKPORT_JOB_WORKERS=0;
// a job whose process dies is taken over by another process, or by this one after a restart.
const jobs = createJobSystem({
  db,
  work: config.jobWorkers,
  staleAfterSeconds: config.jobStaleSeconds,
  storage: { secretKey, localFilesRoot: config.localFilesRoot },
  network: config.network,
  webhooks: config.webhooks,
  uploads: { mediaDir: config.mediaDir, maxFileBytes: config.maxUploadBytes },
});
await jobs.start();

const api = await createApiHandler({
  db,
  jobs,
  localFilesRoot: config.localFilesRoot,
  secretKey,
  network: config.network,
  maxBodyBytes: config.maxBodyBytes,
  maxImportBytes: config.maxImportBytes,
  asyncImportBytes: config.asyncImportBytes,
  uploads: { mediaDir: config.mediaDir, maxFileBytes: config.maxUploadBytes },
});
setRuntime({ db, secretKey, openApiDocument: api.openApiDocument });
// API-only processes (TASKPORT_API_ONLY=1) serve /api/* without loading Next.js at all: the
// shape for extra API workers behind a load balancer.
const app = config.apiOnly
  ? undefined
  : next({ dev, dir: dirname(fileURLToPath(import.meta.url)) });
await app?.prepare();
const handleNext = app?.getRequestHandler();

/**
 * /api/*, Label Studio's /health (the legacy SDK's connection check) and its media URLs
 * (/data/local-files/ of local folder storages, /data/upload/ of uploaded files) go to the API.
 */
function isApiPath(url = ""): boolean {
  const path = url.split("?")[0];
  return (
    path === "/api" ||
    path === "/data/local-files" ||
    path === "/data/local-files/" ||
    path?.startsWith("/data/upload/") === true ||
    path?.startsWith("/api/") === true ||
    path === "/health" ||
    path === "/health/"
  );
}

const server = createServer((req, res) => {
  if (isApiPath(req.url) || !handleNext) api.handle(req, res);
  else if (
    admitPagePath(req, res) &&
    admitPageChange(req, res) &&
    admitPageBody(req, res, config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)
  ) {
    setClientAddress(req, config.trustProxy);
    admitPageAction(req, res).then(
      (admitted) => admitted && handleNext(admitted, res),
      () => req.destroy(),
    );
  }
});

server.listen(config.port, config.host, () => {
  console.log(
    `[taskport] ready on http://localhost:${config.port} (${config.apiOnly ? "API only" : dev ? "development" : "production"})`,
  );
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`[taskport] ${signal}: finishing in-flight requests`);
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  await closed;
  // Running jobs stop at their next step and are retried at once by another process (or by
  // this one after it restarts), from their last committed step.
  await jobs.stop();
  await api.close();
  await app?.close();
  await db.$close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
