import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../src/auth/tokens";
import { apiTokens, users } from "../src/db/schema";
import { createUserWithOrganization, MAX_FAILED_LOGINS, verifyLogin } from "../src/services/user";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.close();
});

describe("logins and stored credentials", () => {
  it("locks an account after repeated wrong passwords, even for the right one", async () => {
    await createUserWithOrganization(tdb.db, {
      email: "lock@example.com",
      password: "right-password",
    });
    const wrong = await verifyLogin(tdb.db, "lock@example.com", "wrong").catch((e) => e);
    const unknown = await verifyLogin(tdb.db, "nobody@example.com", "wrong").catch((e) => e);
    // An unknown email and a wrong password read the same.
    expect(wrong).toMatchObject({ code: "UNAUTHORIZED" });
    expect(unknown).toMatchObject({ code: "UNAUTHORIZED", message: wrong.message });
    for (let i = 1; i < MAX_FAILED_LOGINS; i++) {
      await expect(verifyLogin(tdb.db, "lock@example.com", "wrong")).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
    }
    await expect(verifyLogin(tdb.db, "lock@example.com", "right-password")).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: expect.stringMatching(/Too many failed logins/),
    });
  });

  it("a successful login clears the count of failures", async () => {
    await createUserWithOrganization(tdb.db, {
      email: "reset@example.com",
      password: "right-password",
    });
    for (let i = 1; i < MAX_FAILED_LOGINS; i++)
      await verifyLogin(tdb.db, "reset@example.com", "x").catch(() => {});
    await expect(
      verifyLogin(tdb.db, "Reset@Example.com ", "right-password"),
    ).resolves.toMatchObject({
      email: "reset@example.com",
    });
    const [row] = await tdb.db.select().from(users).where(eq(users.email, "reset@example.com"));
    expect(row).toMatchObject({ failedLogins: 0, lockedUntil: null });
  });

  it("stores passwords as Argon2id hashes and tokens only as SHA-256 digests", async () => {
    const tenant = await createTenant(tdb.db);
    const [user] = await tdb.db.select().from(users).where(eq(users.id, tenant.user.id));
    expect(user?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(user?.passwordHash).not.toContain("correct horse battery");
    const rows = await tdb.db.select().from(apiTokens).where(eq(apiTokens.userId, tenant.user.id));
    expect(rows.map((r) => r.tokenHash)).toEqual([hashToken(tenant.token)]);
    expect(JSON.stringify(rows)).not.toContain(tenant.token);
  });
});
