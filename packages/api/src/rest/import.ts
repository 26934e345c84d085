/**
 * POST /api/projects/{id}/import (Label Studio's import), registered by the REST plugin.
 * Placeholder until the import service lands: it registers no route yet.
 */
import type { FastifyPluginAsync } from "fastify";

export const importRoutes: FastifyPluginAsync = async () => {};
