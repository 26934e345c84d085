/**
 * Label Studio's REST API (contract sections 1 to 4) as one Fastify plugin, registered by
 * http.ts beside /api/trpc: the route table (ROUTES, see ./route.ts for how to add an
 * endpoint), its OpenAPI document, its body parsers and its error handler. All of them are
 * encapsulated: they apply to these routes but not to tRPC.
 */
import formbody from "@fastify/formbody";
import multipart from "@fastify/multipart";
import { stringifyJson } from "@taskport/schema";
import type { FastifyPluginAsync } from "fastify";
import { notFound } from "../errors";
import { annotationRoutes } from "./annotations";
import type { RestOptions } from "./auth";
import { sendRestError } from "./errors";
import { exportRoutes } from "./export";
import { importRoutes } from "./import";
import { metaRoutes } from "./meta";
import { registerOpenApi } from "./openapi";
import { projectRoutes } from "./projects";
import { PLUMBING, type RestRoute, registerRoutes, zodValidatorCompiler } from "./route";
import { storageRoutes } from "./storages";
import { taskRoutes } from "./tasks";
import { tokenRoutes } from "./tokens";
import { uploadRoutes } from "./uploads";
import { userRoutes } from "./users";
import { webhookRoutes } from "./webhooks";

/** Every REST endpoint, in the order the reference shows them. */
export const ROUTES: readonly RestRoute[] = [
  ...taskRoutes,
  ...annotationRoutes,
  ...importRoutes,
  ...uploadRoutes,
  ...exportRoutes,
  ...projectRoutes,
  ...tokenRoutes,
  ...userRoutes,
  ...storageRoutes,
  ...webhookRoutes,
  ...metaRoutes,
];

const defaultLogError = (id: string, error: unknown) =>
  console.error(`[taskport] error ${id}:`, error);

export const restRoutes: FastifyPluginAsync<RestOptions> = async (app, options) => {
  const logError = options.logError ?? defaultLogError;
  const { maxBodyBytes } = options;

  app.setErrorHandler((error, request, reply) =>
    sendRestError(error, request, reply, { maxBodyBytes, logError }),
  );
  app.setValidatorCompiler(zodValidatorCompiler);
  // Response schemas document the answers (handlers are typed by them); bodies are written
  // as JSON as they are, at any depth a stored task has.
  app.setSerializerCompiler(() => stringifyJson);
  // Label Studio reads JSON, forms and multipart; plain text is a 415 here, not a string body.
  app.removeContentTypeParser("text/plain");
  await app.register(formbody, { bodyLimit: maxBodyBytes });
  // Fields stay off `request.body` so that handlers (import) can stream file parts.
  await app.register(multipart, {
    limits: { fileSize: maxBodyBytes, fieldSize: maxBodyBytes, parts: 1000 },
  });
  await registerOpenApi(app);

  await registerRoutes(app, ROUTES, options);

  // Every other /api and /data path (tRPC has its own routes): the contract's 404, before any
  // body is read.
  for (const prefix of ["/api/*", "/data/*"]) {
    app.all(prefix, {
      schema: PLUMBING,
      onRequest: async () => {
        throw notFound("Not found.");
      },
      handler: async () => undefined,
    });
  }
};
