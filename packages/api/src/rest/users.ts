/**
 * What scripts call to find themselves: `/api/current-user/whoami` (and `/api/current-user/`),
 * the legacy key endpoints, and Label Studio's personal access token endpoints under
 * `/api/token/` (`refresh/` is in tokens.ts).
 */
import { TokenRefreshInput, TokenValue, WhoAmI } from "@taskport/schema";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { credentialsFrom } from "../auth/actor";
import { whoAmI } from "../services/current-user";
import {
  blacklistPat,
  createPat,
  currentKey,
  listPats,
  resetKey,
  rotatePat,
} from "../services/legacy-token";
import { publicRoute, route } from "./route";
import { restSchemas } from "./schemas";

/** The key in `Authorization: Token <key>` or `X-Api-Key`, when the caller sent one. */
function presentedKey(request: FastifyRequest): string | undefined {
  const credentials = credentialsFrom(request.headers);
  return credentials?.kind === "token" ? credentials.key : undefined;
}

const PatList = z.array(
  z.object({ token: z.string(), created_at: z.date(), expires_at: z.date() }),
);
const Rotated = z.object({ refresh: z.string() });
restSchemas.add(WhoAmI, { id: "WhoAmI" });
restSchemas.add(TokenValue, { id: "TokenValue" });
restSchemas.add(PatList, { id: "PatList" });
restSchemas.add(Rotated, { id: "RotatedToken" });

const whoami = (path: string, summary: string) =>
  route({
    method: "GET",
    path,
    summary,
    tag: "Users",
    success: { status: 200, description: "The caller.", schema: WhoAmI },
    errors: [401],
    handler: ({ db, actor }) => whoAmI(db, actor),
  });

export const userRoutes = [
  whoami("/api/current-user/whoami", "The caller, as Label Studio's whoami answers"),
  whoami("/api/current-user/", "The caller (the same answer as whoami)"),
  route({
    method: "GET",
    path: "/api/current-user/token",
    summary: "The key the caller presents (a secret is never shown twice)",
    tag: "Users",
    success: { status: 200, description: "The key.", schema: TokenValue },
    errors: [401, 404],
    handler: ({ db, actor, request }) => currentKey(db, actor, presentedKey(request)),
  }),
  route({
    method: "POST",
    path: "/api/current-user/reset-token/",
    summary: "A new key; the key presented stops working",
    tag: "Users",
    success: { status: 201, description: "The new key.", schema: TokenValue },
    errors: [401],
    handler: ({ db, actor, request }) => resetKey(db, actor, presentedKey(request)),
  }),
  route({
    method: "GET",
    path: "/api/token/",
    summary: "Your live personal access tokens (never their secrets)",
    tag: "Tokens",
    success: { status: 200, description: "The tokens.", schema: PatList },
    errors: [401],
    handler: ({ db, actor }) => listPats(db, actor),
  }),
  route({
    method: "POST",
    path: "/api/token/",
    summary: "A personal access token (one live token at a time)",
    tag: "Tokens",
    success: { status: 201, description: "The token, shown this once.", schema: TokenValue },
    errors: [401, 409],
    handler: ({ db, actor, options }) => createPat(db, actor, options.secretKey),
  }),
  route({
    method: "POST",
    path: "/api/token/rotate/",
    summary: "Replace a personal access token by a new one",
    tag: "Tokens",
    body: TokenRefreshInput,
    forms: {},
    success: { status: 200, description: "The new token.", schema: Rotated },
    errors: [400, 401],
    handler: ({ db, actor, body, options }) =>
      rotatePat(db, actor, body.refresh, options.secretKey),
  }),
  // Label Studio lets anyone who holds a refresh token revoke it.
  publicRoute({
    method: "POST",
    path: "/api/token/blacklist/",
    summary: "Revoke a personal access token",
    tag: "Tokens",
    body: TokenRefreshInput,
    forms: {},
    success: { status: 204, description: "Revoked." },
    errors: [400, 404],
    handler: async ({ db, body, options }) => {
      await blacklistPat(db, body.refresh, options.secretKey);
      return undefined;
    },
  }),
];
