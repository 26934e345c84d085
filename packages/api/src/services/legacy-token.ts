/**
 * Label Studio's token endpoints, over the tokens of services/token.ts: the legacy key a script
 * reads back (`/api/current-user/token`) or resets, and the personal access token endpoints
 * SDK 2.x calls (`/api/token/`: list, create, blacklist, rotate). Secrets are stored as hashes
 * only, so a key can be read back only by the caller who presents it.
 */
import type { TokenValue } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, eq, isNull } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import { REFRESH_TOKEN_SECONDS, verifyJwt } from "../auth/jwt";
import { hashToken } from "../auth/tokens";
import type { Db } from "../db/client";
import { apiTokens } from "../db/schema";
import { notFound } from "../errors";
import { createToken, revokeToken } from "./token";

export const LEGACY_TOKEN_NAME = "Label Studio legacy token";
export const PAT_NAME = "Label Studio API token";
export const TOKEN_ALREADY_EXISTS =
  "You already have a valid token. Please revoke it before creating a new one.";
export const TOKEN_INVALID_OR_BLACKLISTED = "Token is invalid or already blacklisted.";
export const KEY_SHOWN_ONCE =
  "Taskport shows a token only when it is created: send the key you hold as `Authorization: Token <key>`, or get a new one from POST /api/current-user/reset-token/.";

/** The key the caller authenticated with, when it is one of the caller's live keys. */
async function liveKey(db: Db, actor: Actor, key: string | undefined) {
  if (key === undefined) return undefined;
  const [row] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.tokenHash, hashToken(key)),
        eq(apiTokens.userId, actor.userId),
        eq(apiTokens.kind, "key"),
        isNull(apiTokens.revokedAt),
      ),
    );
  return row;
}

/** `GET /api/current-user/token`: the legacy key the caller presented. */
export async function currentKey(
  db: Db,
  actor: Actor,
  presented: string | undefined,
): Promise<TokenValue> {
  if (presented === undefined || !(await liveKey(db, actor, presented))) {
    throw notFound(KEY_SHOWN_ONCE);
  }
  return { token: presented };
}

/**
 * `POST /api/current-user/reset-token/`: a new legacy key; the key the caller presented (if
 * any) stops working, as Label Studio replaces the user's one key.
 */
export async function resetKey(
  db: Db,
  actor: Actor,
  presented: string | undefined,
): Promise<TokenValue> {
  const old = await liveKey(db, actor, presented);
  const created = await createToken(db, actor, { name: LEGACY_TOKEN_NAME, kind: "key" }, undefined);
  if (old) await revokeToken(db, actor, old.id);
  return { token: created.token };
}

export interface PatListItem {
  token: string;
  created_at: Date;
  expires_at: Date;
}

/**
 * `GET /api/token/`: the caller's live personal access tokens. The secret is not kept, so each
 * is named by its id instead of Label Studio's unsigned copy of the JWT.
 */
export async function listPats(db: Db, actor: Actor): Promise<PatListItem[]> {
  const rows = await db
    .select({ id: apiTokens.id, name: apiTokens.name, createdAt: apiTokens.createdAt })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.userId, actor.userId),
        eq(apiTokens.kind, "pat"),
        isNull(apiTokens.revokedAt),
      ),
    )
    .orderBy(apiTokens.id);
  return rows.map((row) => ({
    token: `pat-${row.id}: ${row.name}`,
    created_at: row.createdAt,
    expires_at: new Date(row.createdAt.getTime() + REFRESH_TOKEN_SECONDS * 1000),
  }));
}

/** `POST /api/token/`: a personal access token, unless the caller already has a live one. */
export async function createPat(
  db: Db,
  actor: Actor,
  secretKey: Uint8Array | undefined,
): Promise<TokenValue> {
  if ((await listPats(db, actor)).length > 0) {
    throw new TRPCError({ code: "CONFLICT", message: TOKEN_ALREADY_EXISTS });
  }
  const created = await createToken(db, actor, { name: PAT_NAME, kind: "pat" }, secretKey);
  return { token: created.token };
}

/** The live personal access token row a refresh JWT is, if any. */
async function patOf(db: Db, refresh: string, secretKey: Uint8Array | undefined) {
  if (!secretKey) return undefined;
  const check = await verifyJwt(secretKey, refresh, "refresh");
  if (!check.ok) return undefined;
  const [row] = await db
    .select({ id: apiTokens.id, userId: apiTokens.userId })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.id, check.claims.tokenId),
        eq(apiTokens.kind, "pat"),
        eq(apiTokens.tokenHash, hashToken(refresh)),
        isNull(apiTokens.revokedAt),
      ),
    );
  return row;
}

/** `POST /api/token/blacklist/`: revokes a personal access token (404 when it is not live). */
export async function blacklistPat(
  db: Db,
  refresh: string,
  secretKey: Uint8Array | undefined,
): Promise<void> {
  const row = await patOf(db, refresh, secretKey);
  if (!row) throw notFound(TOKEN_INVALID_OR_BLACKLISTED);
  await db.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, row.id));
}

/** `POST /api/token/rotate/`: the caller's token revoked, a new one returned. */
export async function rotatePat(
  db: Db,
  actor: Actor,
  refresh: string,
  secretKey: Uint8Array | undefined,
): Promise<{ refresh: string }> {
  const row = await patOf(db, refresh, secretKey);
  if (!row || row.userId !== actor.userId) {
    throw new TRPCError({ code: "BAD_REQUEST", message: TOKEN_INVALID_OR_BLACKLISTED });
  }
  const created = await createToken(db, actor, { name: PAT_NAME, kind: "pat" }, secretKey);
  await revokeToken(db, actor, row.id);
  return { refresh: created.token };
}
