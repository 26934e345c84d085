/** Browser sessions: an httpOnly cookie holding a random secret; the table keeps its hash. */
import { and, eq, gt } from "drizzle-orm";
import type { Db } from "../db/client";
import { sessions, users } from "../db/schema";
import type { Actor } from "./actor";
import { generateToken, hashToken } from "./tokens";

export const SESSION_COOKIE = "taskport_session";
export const SESSION_DAYS = 14;

export async function createSession(
  db: Db,
  userId: number,
): Promise<{ secret: string; expiresAt: Date }> {
  const secret = generateToken() + generateToken();
  const expiresAt = new Date(Date.now() + SESSION_DAYS * 24 * 3600 * 1000);
  await db.insert(sessions).values({ userId, tokenHash: hashToken(secret), expiresAt });
  return { secret, expiresAt };
}

export async function actorForSession(db: Db, secret: string): Promise<Actor | null> {
  const [row] = await db
    .select({ userId: users.id, organizationId: users.organizationId })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, hashToken(secret)), gt(sessions.expiresAt, new Date())))
    .limit(1);
  return row ?? null;
}

export async function deleteSession(db: Db, secret: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.tokenHash, hashToken(secret)));
}

/**
 * The session secret from a Cookie header, if any. Secrets are URL-safe, so a value that does
 * not decode (`%ff`) is no session: it is returned as sent and matches none.
 */
export function sessionFromCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return undefined;
}
