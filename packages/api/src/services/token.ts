/**
 * API tokens a user manages: plain keys (`Token <key>`, `X-Api-Key`) and personal access
 * tokens (refresh JWTs exchanged at /api/token/refresh/ for five-minute access JWTs). Only a
 * hash of either secret is stored; the secret is returned once, by `createToken`. Nothing here
 * caches a token, so a revocation holds from the next request on.
 */
import type {
  AccessToken,
  Token,
  TokenCreated,
  TokenCreateInput,
  TokenKind,
} from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, asc, eq, isNull } from "drizzle-orm";
import type { z } from "zod";
import { type Actor, forgetCachedTokens } from "../auth/actor";
import { signJwt, verifyJwt } from "../auth/jwt";
import { generateToken, hashToken } from "../auth/tokens";
import type { Db } from "../db/client";
import { apiTokens, users } from "../db/schema";
import { notFound } from "../errors";

export const TOKEN_NOT_FOUND = "No Token matches the given query.";
/** Simple JWT's words, which SDK users already know. */
export const REFRESH_REFUSED = "Token is invalid or expired";

function noSecretKey(): TRPCError {
  return new TRPCError({
    code: "PRECONDITION_FAILED",
    message: "Personal access tokens need the server's signing key (TASKPORT_SECRET_KEY).",
  });
}

export async function createToken(
  db: Db,
  actor: Actor,
  input: z.output<typeof TokenCreateInput>,
  secretKey: Uint8Array | undefined,
): Promise<TokenCreated> {
  const kind: TokenKind = input.kind;
  if (kind === "key") {
    const token = generateToken();
    const [row] = await db
      .insert(apiTokens)
      .values({ userId: actor.userId, name: input.name, kind, tokenHash: hashToken(token) })
      .returning();
    if (!row) throw new Error("token insert returned no row");
    return { id: row.id, name: row.name, kind, token, created_at: row.createdAt };
  }
  if (!secretKey) throw noSecretKey();
  return db.transaction(async (tx) => {
    // The JWT names its row, so the row comes first, under a placeholder hash that nobody can
    // present, then takes the hash of the signed token.
    const [row] = await tx
      .insert(apiTokens)
      .values({
        userId: actor.userId,
        name: input.name,
        kind,
        tokenHash: `pending:${generateToken()}`,
      })
      .returning();
    if (!row) throw new Error("token insert returned no row");
    const token = await signJwt(secretKey, "refresh", { tokenId: row.id, userId: actor.userId });
    await tx
      .update(apiTokens)
      .set({ tokenHash: hashToken(token) })
      .where(eq(apiTokens.id, row.id));
    return { id: row.id, name: row.name, kind, token, created_at: row.createdAt };
  });
}

/** The caller's own tokens, revoked ones included (with `revoked_at`), oldest first. */
export async function listTokens(db: Db, actor: Actor): Promise<Token[]> {
  const rows = await db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.userId, actor.userId))
    .orderBy(asc(apiTokens.id));
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    kind: row.kind,
    created_at: row.createdAt,
    revoked_at: row.revokedAt,
  }));
}

/** Revokes one of the caller's tokens; revoking it again changes nothing. */
export async function revokeToken(db: Db, actor: Actor, id: number): Promise<{ id: number }> {
  const [row] = await db
    .select({ id: apiTokens.id, revokedAt: apiTokens.revokedAt })
    .from(apiTokens)
    .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, actor.userId)));
  if (!row) throw notFound(TOKEN_NOT_FOUND);
  if (!row.revokedAt) {
    await db
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)));
    forgetCachedTokens();
  }
  return { id };
}

/**
 * Exchanges a personal access token for an access JWT. The token must verify, be exactly the
 * one issued for its row (its hash is stored) and not be revoked.
 */
export async function refreshAccessToken(
  db: Db,
  refresh: string,
  secretKey: Uint8Array | undefined,
): Promise<AccessToken> {
  if (!secretKey) throw noSecretKey();
  const refused = () => new TRPCError({ code: "UNAUTHORIZED", message: REFRESH_REFUSED });
  const check = await verifyJwt(secretKey, refresh, "refresh");
  if (!check.ok) throw refused();
  const [row] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(
      and(
        eq(apiTokens.id, check.claims.tokenId),
        eq(apiTokens.userId, check.claims.userId),
        eq(apiTokens.kind, "pat"),
        eq(apiTokens.tokenHash, hashToken(refresh)),
        isNull(apiTokens.revokedAt),
      ),
    )
    .limit(1);
  if (!row) throw refused();
  return { access: await signJwt(secretKey, "access", check.claims) };
}
