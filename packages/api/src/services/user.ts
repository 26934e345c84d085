/** Users, their organizations and their API tokens. */
import { TRPCError } from "@trpc/server";
import { and, eq, isNull } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import { hashPassword, MIN_PASSWORD_LENGTH } from "../auth/passwords";
import { generateToken, hashToken, TOKEN_PATTERN } from "../auth/tokens";
import type { Db } from "../db/client";
import { apiTokens, organizations, users } from "../db/schema";
import { mapDbError } from "../errors";

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
    throw new TRPCError({ code: "BAD_REQUEST", message: `"${email}" is not an email address.` });
  }
  return normalized;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `The password must have at least ${MIN_PASSWORD_LENGTH} characters.`,
    });
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

/** Creates an API token for the caller; the secret is returned here once and never again. */
export async function createApiToken(
  db: Db,
  actor: Actor,
  name = "default",
): Promise<{ id: number; name: string; token: string }> {
  const token = generateToken();
  const [row] = await db
    .insert(apiTokens)
    .values({ userId: actor.userId, name, tokenHash: hashToken(token) })
    .returning({ id: apiTokens.id, name: apiTokens.name });
  if (!row) throw new Error("token insert returned no row");
  return { ...row, token };
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
