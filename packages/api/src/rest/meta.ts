/**
 * The server's own endpoints: health checks (Taskport's, and the `/health` that SDK 1.x's
 * check_connection() calls, outside /api: apps/web/server.ts routes it here), the version
 * Label Studio's SDK reads at start, and this API's OpenAPI document.
 */
import { z } from "zod";
import { checkDatabase } from "../services/health";
import { versionInfo } from "../services/version";
import { API_VERSION } from "./errors";
import { publicRoute } from "./route";
import { described, HealthOut, VersionOut } from "./schemas";

const LegacyHealth = described(
  z.object({ status: z.enum(["UP", "DOWN"]) }),
  "Label Studio's answer: UP when the database answers.",
);

export const metaRoutes = [
  publicRoute({
    method: "GET",
    path: "/api/health",
    summary: "Health of the server and its database",
    tag: "Server",
    success: { status: 200, description: "The database answers.", schema: HealthOut },
    also: [{ status: 503, description: "The database does not answer.", schema: HealthOut }],
    errors: [],
    handler: async ({ db, reply }) => {
      const health = await checkDatabase(db);
      return health.status === "ok" ? health : reply.code(503).send(health);
    },
  }),
  publicRoute({
    method: "GET",
    path: "/health",
    summary: "Health as Label Studio answers it (SDK 1.x's check_connection)",
    tag: "Server",
    success: { status: 200, description: "The database answers.", schema: LegacyHealth },
    also: [{ status: 503, description: "The database does not answer.", schema: LegacyHealth }],
    errors: [],
    handler: async ({ db, reply }) => {
      const health = await checkDatabase(db);
      return health.status === "ok"
        ? { status: "UP" as const }
        : reply.code(503).send({ status: "DOWN" });
    },
  }),
  publicRoute({
    method: "GET",
    path: "/api/version",
    summary: "Server version",
    tag: "Server",
    success: { status: 200, description: "The version.", schema: VersionOut },
    errors: [],
    handler: async () => versionInfo(API_VERSION),
  }),
  publicRoute({
    method: "GET",
    path: "/api/openapi.json",
    summary: "This document (OpenAPI 3.1)",
    tag: "Server",
    success: {
      status: 200,
      description: "The OpenAPI document of every endpoint above.",
      schema: z.record(z.string(), z.unknown()),
    },
    errors: [],
    handler: async ({ request }) => request.server.swagger() as unknown as Record<string, unknown>,
  }),
];
