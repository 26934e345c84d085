import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../src/auth/passwords";
import { hashToken } from "../src/auth/tokens";
import { apiTokens, users } from "../src/db/schema";
import {
  createUserWithOrganization,
  MAX_FAILED_LOGINS,
  MAX_FAILED_LOGINS_PER_ADDRESS,
  verifyLogin,
} from "../src/services/user";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.close();
});

const HOME = "198.51.100.7";
const STRANGER = "203.0.113.9";

type Answer = { code: string; message: string };
const answer = (email: string, password: string, address: string): Promise<Answer> =>
  verifyLogin(tdb.db, email, password, address).then(
    () => ({ code: "OK", message: "" }),
    (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
  );

describe("logins and stored credentials", () => {
  it("locks an account after repeated wrong passwords from one address, even for the right one", async () => {
    await createUserWithOrganization(tdb.db, {
      email: "lock@example.com",
      password: "right-password",
    });
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      await expect(answer("lock@example.com", "wrong", HOME)).resolves.toEqual({
        code: "UNAUTHORIZED",
        message: "The email or the password is wrong.",
      });
    }
    await expect(answer("lock@example.com", "right-password", HOME)).resolves.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: expect.stringMatching(/^Too many failed logins/),
    });
  });

  it("answers an unknown email exactly as a known one, lock included", async () => {
    await createUserWithOrganization(tdb.db, {
      email: "known@example.com",
      password: "right-password",
    });
    const known: Answer[] = [];
    const unknown: Answer[] = [];
    for (let i = 0; i < MAX_FAILED_LOGINS + 2; i++) {
      known.push(await answer("known@example.com", "wrong", HOME));
      unknown.push(await answer("nobody@example.com", "wrong", HOME));
    }
    // Both lock at the same attempt, with the same words (the time aside).
    const shape = (a: Answer) => ({ code: a.code, message: a.message.replace(/after .*/, "") });
    expect(unknown.map(shape)).toEqual(known.map(shape));
    expect(known.at(-1)?.code).toBe("TOO_MANY_REQUESTS");
  });

  it("checks an unknown email against a hash as costly as a real one", async () => {
    const real = await hashPassword("any password at all");
    const dummy = await dummyPasswordHash();
    // Same algorithm and parameters, hence the same work to verify.
    const params = (hash: string) => hash.split("$").slice(1, 4).join("$");
    expect(params(dummy)).toBe(params(real));
    await expect(verifyPassword(dummy, "x")).resolves.toBe(false);
  });

  it("counts concurrent wrong passwords exactly: at most the limit are checked", async () => {
    await createUserWithOrganization(tdb.db, {
      email: "burst@example.com",
      password: "right-password",
    });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => answer("burst@example.com", "wrong", HOME)),
    );
    const wrong = answers.filter((a) => a.code === "UNAUTHORIZED").length;
    const locked = answers.filter((a) => a.code === "TOO_MANY_REQUESTS").length;
    expect(wrong).toBe(MAX_FAILED_LOGINS);
    expect(locked).toBe(20 - MAX_FAILED_LOGINS);
  });

  it("a stranger's wrong passwords do not lock the user out of their own address", async () => {
    await createUserWithOrganization(tdb.db, {
      email: "victim@example.com",
      password: "right-password",
    });
    for (let i = 0; i < MAX_FAILED_LOGINS * 3; i++)
      await answer("victim@example.com", "guess", STRANGER);
    await expect(answer("victim@example.com", "guess", STRANGER)).resolves.toMatchObject({
      code: "TOO_MANY_REQUESTS",
    });
    await expect(answer("victim@example.com", "right-password", HOME)).resolves.toEqual({
      code: "OK",
      message: "",
    });
  });

  it("limits one address's guesses across accounts", async () => {
    const address = "192.0.2.44";
    const answers: Answer[] = [];
    for (let i = 0; i < MAX_FAILED_LOGINS_PER_ADDRESS + 1; i++)
      answers.push(await answer(`spray${i}@example.com`, "wrong", address));
    expect(answers.slice(0, -1).every((a) => a.code === "UNAUTHORIZED")).toBe(true);
    expect(answers.at(-1)?.code).toBe("TOO_MANY_REQUESTS");
    // Another address is not concerned.
    await expect(answer("spray0@example.com", "wrong", HOME)).resolves.toMatchObject({
      code: "UNAUTHORIZED",
    });
  });

  it("a successful login clears the count of failures", async () => {
    await createUserWithOrganization(tdb.db, {
      email: "reset@example.com",
      password: "right-password",
    });
    for (let i = 1; i < MAX_FAILED_LOGINS; i++) await answer("reset@example.com", "x", HOME);
    await expect(
      verifyLogin(tdb.db, "Reset@Example.com ", "right-password", HOME),
    ).resolves.toMatchObject({ email: "reset@example.com" });
    for (let i = 1; i < MAX_FAILED_LOGINS; i++) {
      await expect(answer("reset@example.com", "x", HOME)).resolves.toMatchObject({
        code: "UNAUTHORIZED",
      });
    }
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
