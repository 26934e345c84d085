/**
 * API tokens over REST, over services/token.ts: `/api/tokens/` to list and create the caller's
 * tokens and `DELETE /api/tokens/{id}/` to revoke one; `/api/token/refresh/` (Label Studio's
 * path, what SDK 2.x calls) exchanges a personal access token for an access JWT.
 */
import { z } from "zod";
import { createToken, listTokens, refreshAccessToken, revokeToken } from "../services/token";
import { publicRoute, route } from "./route";
import {
  AccessTokenOut,
  pathId,
  TokenCreateBody,
  TokenCreatedOut,
  TokenOut,
  TokenRefreshBody,
} from "./schemas";

export const tokenRoutes = [
  route({
    method: "GET",
    path: "/api/tokens/",
    summary: "List your API tokens (never their secrets)",
    tag: "Tokens",
    success: {
      status: 200,
      description: "Your tokens, revoked ones included.",
      schema: z.array(TokenOut),
    },
    errors: [401],
    handler: ({ db, actor }) => listTokens(db, actor),
  }),
  route({
    method: "POST",
    path: "/api/tokens/",
    summary: "Create an API key or a personal access token",
    tag: "Tokens",
    body: TokenCreateBody,
    forms: {},
    success: {
      status: 201,
      description: "The token, with its secret: shown this once.",
      schema: TokenCreatedOut,
    },
    errors: [400, 401],
    handler: ({ db, actor, body, options }) => createToken(db, actor, body, options.secretKey),
  }),
  route({
    method: "DELETE",
    path: "/api/tokens/{id}/",
    summary: "Revoke one of your tokens (from the next request on)",
    tag: "Tokens",
    params: z.object({ id: pathId("token", "Not found.") }),
    success: { status: 204, description: "Revoked." },
    errors: [401, 404],
    handler: async ({ db, actor, params }) => {
      await revokeToken(db, actor, params.id);
      return undefined;
    },
  }),
  publicRoute({
    method: "POST",
    path: "/api/token/refresh/",
    summary: "Exchange a personal access token for a five-minute access JWT",
    tag: "Tokens",
    body: TokenRefreshBody,
    forms: {},
    success: {
      status: 200,
      description: "Send it as Authorization: Bearer <access>.",
      schema: AccessTokenOut,
    },
    errors: [400, 401],
    handler: ({ db, body, options }) => refreshAccessToken(db, body.refresh, options.secretKey),
  }),
];
