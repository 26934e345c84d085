/** Users, their organizations and their API tokens. */

import { createHash } from "node:crypto";
import { LoginInput, SignUpInput } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import {
  dummyPasswordHash,
  hashPassword,
  MIN_PASSWORD_LENGTH,
  verifyPassword,
} from "../auth/passwords";
import { hashToken, TOKEN_PATTERN } from "../auth/tokens";
import type { Db } from "../db/client";
import { apiTokens, loginAttempts, organizations, users } from "../db/schema";
import { fieldError, mapDbError, parseFields } from "../errors";

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
  input: UserCreateParams,
): Promise<CreatedUser> {
  const params = parseFields(SignUpInput, input);
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

/** Wrong passwords allowed per email and address within a window. */
export const MAX_FAILED_LOGINS = 5;
/** Wrong passwords allowed per address, whatever the emails, within a window. */
export const MAX_FAILED_LOGINS_PER_ADDRESS = 50;
export const LOGIN_WINDOW_MINUTES = 15;
const INVALID_LOGIN = "The email or the password is wrong.";

function attemptKey(...parts: string[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/**
 * Counts one attempt under each key in a single statement (the row lock of the upsert makes
 * concurrent attempts take numbers one after another) and answers each key's number in its
 * window. A window older than LOGIN_WINDOW_MINUTES starts over at 1.
 */
async function countAttempt(db: Db, keys: string[]) {
  const expired = sql`${loginAttempts.windowStartedAt} <= now() - make_interval(mins => ${LOGIN_WINDOW_MINUTES})`;
  return db
    .insert(loginAttempts)
    .values([...keys].sort().map((key) => ({ key, attempts: 1, windowStartedAt: sql`now()` })))
    .onConflictDoUpdate({
      target: loginAttempts.key,
      set: {
        attempts: sql`case when ${expired} then 1 else ${loginAttempts.attempts} + 1 end`,
        windowStartedAt: sql`case when ${expired} then now() else ${loginAttempts.windowStartedAt} end`,
      },
    })
    .returning();
}

/** Rows whose window has ended; swept while the server runs. */
export async function deleteExpiredLoginAttempts(db: Db): Promise<void> {
  await db
    .delete(loginAttempts)
    .where(
      sql`${loginAttempts.windowStartedAt} <= now() - make_interval(mins => ${LOGIN_WINDOW_MINUTES})`,
    );
}

/**
 * Checks an email and password sent from `address`. Attempts are counted per email and address
 * (MAX_FAILED_LOGINS) and per address (MAX_FAILED_LOGINS_PER_ADDRESS) before the password is
 * checked, so that concurrent guesses cannot slip past the count, and an attempt over either
 * limit is refused without checking. Counting per address means that a stranger's guesses
 * never lock the user out from their own address. Known and unknown emails take the same path
 * (the same counts, the same answers, and an unknown email is checked against a dummy hash of
 * the same cost), so the answers do not tell which accounts exist.
 */
export async function verifyLogin(
  db: Db,
  rawEmail: string,
  rawPassword: string,
  address: string,
): Promise<CreatedUser> {
  const { email, password } = parseFields(LoginInput, { email: rawEmail, password: rawPassword });
  const normalized = email.trim().toLowerCase();
  const accountKey = attemptKey("account", normalized, address);
  const addressKey = attemptKey("address", address);
  const counts = await countAttempt(db, [accountKey, addressKey]);
  const over = counts.find(
    (c) => c.attempts > (c.key === accountKey ? MAX_FAILED_LOGINS : MAX_FAILED_LOGINS_PER_ADDRESS),
  );
  if (over) {
    const until = new Date(over.windowStartedAt.getTime() + LOGIN_WINDOW_MINUTES * 60_000);
    throw new TRPCError({
      code: "TOO_MANY_REQUESTS",
      message: `Too many failed logins: try again after ${until.toISOString()}.`,
    });
  }
  const [user] = await db.select().from(users).where(eq(users.email, normalized));
  const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
  if (!user?.passwordHash || !ok)
    throw new TRPCError({ code: "UNAUTHORIZED", message: INVALID_LOGIN });
  // The right password: the account's count starts over, and this attempt was no failure.
  await db.delete(loginAttempts).where(eq(loginAttempts.key, accountKey));
  await db
    .update(loginAttempts)
    .set({ attempts: sql`greatest(${loginAttempts.attempts} - 1, 0)` })
    .where(eq(loginAttempts.key, addressKey));
  return { id: user.id, email: user.email, organizationId: user.organizationId };
}
