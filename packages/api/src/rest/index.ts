/**
 * Label Studio's REST API (contract sections 1 to 4) as one Fastify plugin, registered by
 * http.ts beside /api/trpc. Its body parsers and its error handler are encapsulated: they apply
 * to these routes (and the import routes registered inside) but not to tRPC.
 */
import formbody from "@fastify/formbody";
import multipart from "@fastify/multipart";
import type { FastifyPluginAsync } from "fastify";
import { notFound } from "../errors";
import type { RestOptions } from "./auth";
import { API_VERSION, sendRestError } from "./errors";
import { importRoutes } from "./import";
import { restOpenApiDocument } from "./openapi";
import { projectRoutes } from "./projects";
import { publicResource } from "./resource";
import { taskRoutes } from "./tasks";
import { tokenRoutes } from "./tokens";

export { authenticate, type RestOptions } from "./auth";
export { restErrorBody, sendRestError, toRestError, validationErrorsOf } from "./errors";
export { restOpenApiDocument } from "./openapi";
export { actorOf, publicResource, resource } from "./resource";

const defaultLogError = (id: string, error: unknown) =>
  console.error(`[taskport] error ${id}:`, error);

export const restRoutes: FastifyPluginAsync<RestOptions> = async (app, options) => {
  const logError = options.logError ?? defaultLogError;
  const { maxBodyBytes } = options;

  app.setErrorHandler((error, request, reply) =>
    sendRestError(error, request, reply, { maxBodyBytes, logError }),
  );
  // Label Studio reads JSON, forms and multipart; plain text is a 415 here, not a string body.
  app.removeContentTypeParser("text/plain");
  await app.register(formbody, { bodyLimit: maxBodyBytes });
  // Fields stay off `request.body` so that handlers (import) can stream file parts.
  await app.register(multipart, {
    limits: { fileSize: maxBodyBytes, fieldSize: maxBodyBytes, parts: 1000 },
  });

  taskRoutes(app, options);
  projectRoutes(app, options);
  tokenRoutes(app, options);

  publicResource(app, "/api/openapi.json", { GET: async () => restOpenApiDocument() });
  publicResource(app, "/api/version", {
    GET: async () => ({ release: API_VERSION, taskport: { version: API_VERSION } }),
  });
  // SDK 1.x's check_connection() calls /health (outside /api: the app's server must route it).
  publicResource(app, "/health", { GET: async () => ({ status: "UP" }) });

  await app.register(importRoutes, options);

  // Every other /api path (tRPC and the health check have their own routes): the contract's
  // 404, before any body is read.
  app.all("/api/*", {
    onRequest: async () => {
      throw notFound("Not found.");
    },
    handler: async () => undefined,
  });
};
