/**
 * The Node request handler for everything under /api: tRPC at /api/trpc and the health check,
 * on Fastify (cheap routing, body limits). The app's own server hands /api/* here and every
 * other path to Next.js; nothing here listens on a port.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import type { Db } from "./db/client";
import { RETRY_AFTER_SECONDS } from "./errors";
import type { JobSystem } from "./jobs";
import { restRoutes } from "./rest";
import { uploadSettings } from "./rest/auth";
import { type AppRouter, appRouter } from "./root";
import { deleteExpiredIdempotencyKeys } from "./services/idempotency";
import type { NetworkPolicy } from "./services/network-policy";
import { sweepUploads, type UploadSettings } from "./services/uploads";
import { deleteExpiredLoginAttempts } from "./services/user";
import { createTRPCContext } from "./trpc";

const IDEMPOTENCY_SWEEP_MS = 10 * 60 * 1000;

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface ApiHandlerOptions {
  db: Db;
  /** Durable jobs (storage syncs, ...): enqueued and cancelled through the API. */
  jobs?: JobSystem;
  /** TASKPORT_LOCAL_FILES_ROOT: local folder storages must lie under it (unset: refused). */
  localFilesRoot?: string;
  /** Signs personal access tokens and their access JWTs (see auth/secret.ts). */
  secretKey?: Uint8Array;
  /** Where webhooks and S3 storages may connect (TASKPORT_OUTBOUND_ALLOW_NETWORKS / _DENY_NETWORKS). */
  network?: NetworkPolicy;
  maxBodyBytes?: number;
  /** Largest import request body (TASKPORT_MAX_IMPORT_BYTES); default 250 MiB. */
  maxImportBytes?: number;
  /** Multipart imports larger than this run as jobs (TASKPORT_ASYNC_IMPORT_BYTES, 64 MiB). */
  asyncImportBytes?: number;
  /**
   * Uploaded files: the media folder (TASKPORT_MEDIA_DIR) and the largest file
   * (TASKPORT_MAX_UPLOAD_BYTES, default 5 GiB). See services/uploads.ts.
   */
  uploads?: Partial<UploadSettings>;
  /** Where unexpected errors are reported, with the id a client can quote. */
  logError?: (id: string, error: unknown) => void;
}

export interface ApiHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
  /** The REST API's OpenAPI document, as GET /api/openapi.json serves it. */
  openApiDocument(): Record<string, unknown>;
  /** Every route this handler serves (method and Fastify URL), for tests that check coverage. */
  readonly routes: readonly { method: string; url: string }[];
}

const defaultLogError = (id: string, error: unknown) =>
  console.error(`[taskport] error ${id}:`, error);

/**
 * tRPC reads JSON only (no procedure takes FormData or binary input), and the JSON parser
 * stops at the body limit. The adapter would otherwise hand any multipart body, unbounded, to
 * `Request.formData()`: such a body is refused before a byte of it is read.
 */
async function refuseNonJsonBody(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { headers } = request;
  const hasBody =
    headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? 0) > 0;
  if (!hasBody) return;
  const type = (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type === "application/json") return;
  reply.header("connection", "close");
  throw Object.assign(
    new Error(`Unsupported media type "${type}" in request: tRPC takes application/json.`),
    { statusCode: 415, code: "FST_ERR_CTP_INVALID_MEDIA_TYPE" },
  );
}

export async function createApiHandler(options: ApiHandlerOptions): Promise<ApiHandler> {
  const { db } = options;
  const logError = options.logError ?? defaultLogError;
  let handle: ApiHandler["handle"] | undefined;
  const app = Fastify({
    bodyLimit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    // Batched tRPC calls put every procedure name in the path.
    routerOptions: { maxParamLength: 5000 },
    serverFactory: (handler) => {
      handle = handler;
      return createServer(handler);
    },
  });

  // Every answer, whatever its path, status or surface: browsers must not read a JSON error
  // (or a stored file) as HTML.
  app.addHook("onSend", async (_request, reply) => {
    reply.header("x-content-type-options", "nosniff");
  });

  const routes: { method: string; url: string }[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  await app.register(
    async (trpc) => {
      trpc.addHook("onRequest", refuseNonJsonBody);
      await trpc.register(fastifyTRPCPlugin, {
        trpcOptions: {
          router: appRouter,
          createContext: ({ req }) =>
            createTRPCContext({
              db,
              headers: req.headers,
              secretKey: options.secretKey,
              jobs: options.jobs,
              localFilesRoot: options.localFilesRoot,
              network: options.network,
            }),
          onError({ error }) {
            if (error.code === "INTERNAL_SERVER_ERROR")
              logError(randomUUID(), error.cause ?? error);
          },
          // A database outage (503) is worth a retry, after the same delay REST answers.
          responseMeta({ errors }) {
            return errors.some((error) => error.code === "SERVICE_UNAVAILABLE")
              ? { headers: { "retry-after": String(RETRY_AFTER_SECONDS) } }
              : {};
          },
        } satisfies FastifyTRPCPluginOptions<AppRouter>["trpcOptions"],
      });
    },
    { prefix: "/api/trpc" },
  );

  // Label Studio's REST API: every other /api path, and /health.
  await app.register(restRoutes, {
    db,
    jobs: options.jobs,
    localFilesRoot: options.localFilesRoot,
    secretKey: options.secretKey,
    network: options.network,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxImportBytes: options.maxImportBytes,
    asyncImportBytes: options.asyncImportBytes,
    uploads: options.uploads,
    logError,
  });

  await app.ready();
  if (!handle) throw new Error("Fastify did not hand over its request handler");

  // Expired idempotency keys and login counts are swept while the server runs; a failed sweep
  // (the database being down, say) is retried at the next tick.
  // So are uploaded files no row or task holds any more (services/uploads.ts).
  const uploads = uploadSettings({ db, maxBodyBytes: 0, uploads: options.uploads });
  const sweep = setInterval(() => {
    deleteExpiredIdempotencyKeys(db).catch(() => {});
    deleteExpiredLoginAttempts(db).catch(() => {});
    sweepUploads(db, uploads).catch(() => {});
  }, IDEMPOTENCY_SWEEP_MS);
  sweep.unref();

  // The document as it is served, built once (the routes do not change once ready).
  const served = await app.inject({ method: "GET", url: "/api/openapi.json" });
  if (served.statusCode !== 200) throw new Error(`GET /api/openapi.json: ${served.body}`);
  const document = served.json() as Record<string, unknown>;
  return {
    handle,
    routes,
    openApiDocument: () => document,
    close: () => {
      clearInterval(sweep);
      return app.close();
    },
  };
}
