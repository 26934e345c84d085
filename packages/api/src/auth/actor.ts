/** Who is calling: resolved from the request's credentials, scoped to one organization. */
import { TRPCError } from "@trpc/server";
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiTokens, users } from "../db/schema";
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

export type Credentials = { kind: "token"; key: string } | { kind: "invalid" } | null;

/**
 * `Authorization: Token <key>` with any amount of spaces (one SDK sends two), or
 * `X-Api-Key: <key>`. An Authorization header of another scheme is not ours to judge.
 */
export function credentialsFrom(headers: HeaderBag): Credentials {
  const authorization = readHeader(headers, "authorization");
  if (authorization !== undefined) {
    const match = /^\s*token\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return { kind: "token", key: match[1] };
    if (/^\s*token\b/i.test(authorization)) return { kind: "invalid" };
  }
  const apiKey = readHeader(headers, "x-api-key")?.trim();
  if (apiKey) return { kind: "token", key: apiKey };
  return null;
}

export const NOT_AUTHENTICATED = "Authentication credentials were not provided.";
export const INVALID_TOKEN = "Invalid token.";

export async function actorForToken(db: Db, key: string): Promise<Actor | null> {
  const [row] = await db
    .select({ userId: users.id, organizationId: users.organizationId })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, hashToken(key)), isNull(apiTokens.revokedAt)))
    .limit(1);
  return row ?? null;
}

export async function resolveActor(db: Db, headers: HeaderBag): Promise<Actor> {
  const credentials = credentialsFrom(headers);
  if (!credentials) throw new TRPCError({ code: "UNAUTHORIZED", message: NOT_AUTHENTICATED });
  if (credentials.kind === "invalid")
    throw new TRPCError({ code: "UNAUTHORIZED", message: INVALID_TOKEN });
  const actor = await actorForToken(db, credentials.key);
  if (!actor) throw new TRPCError({ code: "UNAUTHORIZED", message: INVALID_TOKEN });
  return actor;
}
