/**
 * Who is calling, from the request's credentials: `Authorization: Token <key>` (any amount of
 * spaces: one SDK sends two), `X-Api-Key: <key>`, `Authorization: Bearer <access JWT>`, or the
 * web app's session cookie. Every actor belongs to one organization, which scopes every lookup.
 */
import { TRPCError } from "@trpc/server";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { prepared } from "../db/prepared";
import { apiTokens, users } from "../db/schema";
import { verifyJwt } from "./jwt";
import { actorForSession, sessionFromCookie } from "./session";
import { hashToken } from "./tokens";

export interface Actor {
  userId: number;
  organizationId: number;
}

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

export function readHeader(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export type Credentials =
  | { kind: "token"; key: string }
  | { kind: "bearer"; jwt: string }
  | { kind: "session"; secret: string }
  | { kind: "invalid" }
  | null;

export function credentialsFrom(headers: HeaderBag): Credentials {
  const authorization = readHeader(headers, "authorization");
  if (authorization !== undefined && authorization.trim() !== "") {
    const match = /^\s*(token|bearer)\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1] && match[2]) {
      return match[1].toLowerCase() === "token"
        ? { kind: "token", key: match[2] }
        : { kind: "bearer", jwt: match[2] };
    }
    if (/^\s*(token|bearer)\b/i.test(authorization)) return { kind: "invalid" };
  }
  const apiKey = readHeader(headers, "x-api-key")?.trim();
  if (apiKey) return { kind: "token", key: apiKey };
  const session = sessionFromCookie(readHeader(headers, "cookie"));
  if (session) return { kind: "session", secret: session };
  return null;
}

export const NOT_AUTHENTICATED = "Authentication credentials were not provided.";
export const INVALID_TOKEN = "Invalid token.";

/**
 * API keys already looked up by this process, by hash, for at most TOKEN_CACHE_MS: a burst of
 * requests with one key costs one lookup instead of one each. A revocation made by this process
 * (services/token.ts) empties the cache at once, so the revoked key fails on its next request
 * here; another process's revocation is seen within TOKEN_CACHE_MS. Only keys that were valid
 * are kept: an unknown key is looked up every time.
 */
export const TOKEN_CACHE_MS = 1000;
const TOKEN_CACHE_MAX = 10_000;
const tokenCaches = new WeakMap<
  Db,
  Map<string, { actor: Actor; until: number; generation: number }>
>();
// Bumped by every invalidation: a lookup that began before it must not store what it read.
let tokenGeneration = 0;

/** Forgets every cached API key of this process (after a revocation commits). */
export function forgetCachedTokens(): void {
  // The maps are per database: entries of an older generation are refused when read.
  tokenGeneration++;
}

export async function actorForToken(db: Db, key: string): Promise<Actor | null> {
  const hash = hashToken(key);
  let cache = tokenCaches.get(db);
  if (!cache) {
    cache = new Map();
    tokenCaches.set(db, cache);
  }
  const now = Date.now();
  const cached = cache.get(hash);
  if (cached && cached.until > now && cached.generation === tokenGeneration) return cached.actor;
  const generation = tokenGeneration;
  const query = prepared(db, "actor_for_token", (d) =>
    d
      .select({ userId: users.id, organizationId: users.organizationId })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(
        and(
          eq(apiTokens.tokenHash, sql.placeholder("hash")),
          eq(apiTokens.kind, "key"),
          isNull(apiTokens.revokedAt),
        ),
      )
      .limit(1)
      .prepare("actor_for_token"),
  );
  const [row] = await query.execute({ hash });
  if (!row) {
    cache.delete(hash);
    return null;
  }
  if (generation === tokenGeneration) {
    if (cache.size >= TOKEN_CACHE_MAX) cache.clear();
    cache.set(hash, { actor: row, until: now + TOKEN_CACHE_MS, generation });
  }
  return row;
}

/** The owner of a personal access token that is still valid (not revoked). */
export async function actorForPat(db: Db, tokenId: number, userId: number): Promise<Actor | null> {
  const [row] = await db
    .select({ userId: users.id, organizationId: users.organizationId })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(
      and(
        eq(apiTokens.id, tokenId),
        eq(apiTokens.userId, userId),
        eq(apiTokens.kind, "pat"),
        isNull(apiTokens.revokedAt),
      ),
    )
    .limit(1);
  return row ?? null;
}

export interface AuthOptions {
  /** Signs and verifies JWTs; without it Bearer tokens are refused. */
  secretKey?: Uint8Array;
}

export async function resolveActor(
  db: Db,
  headers: HeaderBag,
  options: AuthOptions = {},
): Promise<Actor> {
  const credentials = credentialsFrom(headers);
  const invalid = (message = INVALID_TOKEN) => new TRPCError({ code: "UNAUTHORIZED", message });
  if (!credentials) throw invalid(NOT_AUTHENTICATED);
  switch (credentials.kind) {
    case "invalid":
      throw invalid();
    case "token": {
      const actor = await actorForToken(db, credentials.key);
      if (!actor) throw invalid();
      return actor;
    }
    case "bearer": {
      if (!options.secretKey) throw invalid();
      const check = await verifyJwt(options.secretKey, credentials.jwt, "access");
      if (!check.ok)
        throw invalid(check.reason === "expired" ? "Token is expired." : INVALID_TOKEN);
      const actor = await actorForPat(db, check.claims.tokenId, check.claims.userId);
      if (!actor) throw invalid();
      return actor;
    }
    case "session": {
      const actor = await actorForSession(db, credentials.secret);
      if (!actor) throw invalid("Your session has ended: log in again.");
      return actor;
    }
  }
}
