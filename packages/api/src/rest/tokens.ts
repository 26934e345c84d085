/**
 * API tokens over REST, over services/token.ts: `/api/tokens/` to list and create the caller's
 * tokens and `DELETE /api/tokens/{id}/` to revoke one; `/api/token/refresh/` (Label Studio's
 * path, what SDK 2.x calls) exchanges a personal access token for an access JWT.
 */
import { TokenByIdInput, TokenCreateInput, TokenRefreshInput } from "@taskport/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound } from "../errors";
import { createToken, listTokens, refreshAccessToken, revokeToken } from "../services/token";
import type { RestOptions } from "./auth";
import { readBody } from "./body";
import { parseBody } from "./errors";
import { publicResource, resource } from "./resource";

function tokenIdParam(request: FastifyRequest): number {
  const raw = (request.params as { id: string }).id;
  const parsed = TokenByIdInput.shape.id.safeParse(/^\d+$/.test(raw) ? Number(raw) : Number.NaN);
  if (!parsed.success) throw notFound("Not found.");
  return parsed.data;
}

export function tokenRoutes(app: FastifyInstance, options: RestOptions): void {
  const { db, secretKey } = options;

  resource(app, options, "/api/tokens/", {
    GET: ({ actor }) => listTokens(db, actor),
    async POST({ request, reply, actor }) {
      const input = parseBody(TokenCreateInput, await readBody(request));
      return reply.code(201).send(await createToken(db, actor, input, secretKey));
    },
  });

  resource(app, options, "/api/tokens/:id/", {
    async DELETE({ request, reply, actor }) {
      await revokeToken(db, actor, tokenIdParam(request));
      return reply.code(204).send();
    },
  });

  publicResource(app, "/api/token/refresh/", {
    async POST(request) {
      const { refresh } = parseBody(TokenRefreshInput, await readBody(request));
      return refreshAccessToken(db, refresh, secretKey);
    },
  });
}
