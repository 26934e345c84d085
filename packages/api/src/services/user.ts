/** Users, their organizations and their API tokens. */
import { TRPCError } from "@trpc/server";
import { and, eq, isNull } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from "../auth/passwords";
import { hashToken, TOKEN_PATTERN } from "../auth/tokens";
import type { Db } from "../db/client";
import { apiTokens, organizations, users } from "../db/schema";
import { fieldError, mapDbError } from "../errors";

export interface UserCreateParams {
  email: string;
  password: string;
  organizationTitle?: string;
}

export interface CreatedUser {
  id: number;
  email: string;
  organizationId: number;
}

function normalizeEmail(email: string): string {
  const normalized = email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(normalized)) {
    throw fieldError("email", `"${email}" is not an email address.`);
  }
  return normalized;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw fieldError(
      "password",
      `The password must have at least ${MIN_PASSWORD_LENGTH} characters.`,
    );
  }
}

/** A new user in a new organization of their own (what signing up does). */
export async function createUserWithOrganization(
  db: Db,
  params: UserCreateParams,
): Promise<CreatedUser> {
  const email = normalizeEmail(params.email);
  checkPassword(params.password);
  const passwordHash = await hashPassword(params.password);
  try {
    return await db.transaction(async (tx) => {
      const [organization] = await tx
        .insert(organizations)
        .values({ title: params.organizationTitle ?? email })
        .returning({ id: organizations.id });
      if (!organization) throw new Error("organization insert returned no row");
      const [user] = await tx
        .insert(users)
        .values({ organizationId: organization.id, email, passwordHash })
        .returning({ id: users.id, email: users.email, organizationId: users.organizationId });
      if (!user) throw new Error("user insert returned no row");
      return user;
    });
  } catch (error) {
    mapDbError(error, `A user with the email ${email}`);
  }
}

/** A new user in the caller's organization (`taskport users create`). */
export async function createUserInOrganization(
  db: Db,
  actor: Actor,
  params: { email: string; password: string },
): Promise<CreatedUser> {
  const email = normalizeEmail(params.email);
  checkPassword(params.password);
  const passwordHash = await hashPassword(params.password);
  try {
    const [user] = await db
      .insert(users)
      .values({ organizationId: actor.organizationId, email, passwordHash })
      .returning({ id: users.id, email: users.email, organizationId: users.organizationId });
    if (!user) throw new Error("user insert returned no row");
    return user;
  } catch (error) {
    mapDbError(error, `A user with the email ${email}`);
  }
}

export interface AdminBootstrap {
  email: string;
  password: string;
  token: string;
}

/**
 * Makes sure the configured first user exists, in an organization of its own, and holds
 * exactly the configured API token. Safe to run at every start.
 */
export async function ensureAdmin(db: Db, admin: AdminBootstrap): Promise<CreatedUser> {
  if (!TOKEN_PATTERN.test(admin.token)) {
    throw new Error(
      "TASKPORT_ADMIN_TOKEN must be 20 to 128 characters from A-Z, a-z, 0-9, '_' and '-'.",
    );
  }
  const email = normalizeEmail(admin.email);
  const [existing] = await db
    .select({ id: users.id, email: users.email, organizationId: users.organizationId })
    .from(users)
    .where(eq(users.email, email));
  const user =
    existing ?? (await createUserWithOrganization(db, { email, password: admin.password }));
  const tokenHash = hashToken(admin.token);
  const [holder] = await db
    .select({ userId: apiTokens.userId })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)));
  if (holder && holder.userId !== user.id) {
    throw new Error("TASKPORT_ADMIN_TOKEN already belongs to another user: choose another token.");
  }
  if (!holder) {
    await db
      .insert(apiTokens)
      .values({ userId: user.id, name: "admin (from TASKPORT_ADMIN_TOKEN)", tokenHash })
      .onConflictDoUpdate({
        target: apiTokens.tokenHash,
        set: { userId: user.id, revokedAt: null },
      });
  }
  return user;
}

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MINUTES = 15;
const INVALID_LOGIN = "The email or the password is wrong.";

/**
 * Checks an email and password. After MAX_FAILED_LOGINS wrong passwords in a row the account
 * refuses logins for LOCKOUT_MINUTES, so that passwords cannot be guessed at network speed.
 * An unknown email costs the same hash as a known one, so timing does not tell them apart.
 */
export async function verifyLogin(db: Db, email: string, password: string): Promise<CreatedUser> {
  const normalized = email.trim().toLowerCase();
  const [user] = await db.select().from(users).where(eq(users.email, normalized));
  if (user?.lockedUntil && user.lockedUntil > new Date()) {
    throw new TRPCError({
      code: "TOO_MANY_REQUESTS",
      message: `Too many failed logins: try again after ${user.lockedUntil.toISOString()}.`,
    });
  }
  const ok = await verifyPassword(user?.passwordHash ?? DUMMY_HASH, password);
  if (!user?.passwordHash || !ok) {
    if (user) {
      const failed = user.failedLogins + 1;
      await db
        .update(users)
        .set({
          failedLogins: failed >= MAX_FAILED_LOGINS ? 0 : failed,
          lockedUntil:
            failed >= MAX_FAILED_LOGINS ? new Date(Date.now() + LOCKOUT_MINUTES * 60_000) : null,
        })
        .where(eq(users.id, user.id));
    }
    throw new TRPCError({ code: "UNAUTHORIZED", message: INVALID_LOGIN });
  }
  if (user.failedLogins > 0 || user.lockedUntil) {
    await db.update(users).set({ failedLogins: 0, lockedUntil: null }).where(eq(users.id, user.id));
  }
  return { id: user.id, email: user.email, organizationId: user.organizationId };
}

// An argon2 hash of a random string, verified against when the email is unknown.
const DUMMY_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0bXbC3I6Sj2Sx3cG9lWkS3tG2gSxj0N0Xr5p2m3JY1Q";
