/**
 * The key that signs JWTs: TASKPORT_SECRET_KEY when the app sets it, otherwise one generated
 * on first start and kept in the database's settings table, so that every process on the same
 * database (and every restart) signs and verifies with the same key.
 */
import { createHash, randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { settings } from "../db/schema";

const SETTING = "jwt_secret_key";

export async function loadSecretKey(db: Db, configured?: string): Promise<Uint8Array> {
  if (configured) {
    if (configured.length < 32)
      throw new Error("TASKPORT_SECRET_KEY must have at least 32 characters.");
    return createHash("sha256").update(configured).digest();
  }
  await db
    .insert(settings)
    .values({ key: SETTING, value: randomBytes(32).toString("base64url") })
    .onConflictDoNothing();
  const [row] = await db.select().from(settings).where(eq(settings.key, SETTING));
  if (!row) throw new Error("the generated secret key was not stored");
  return Buffer.from(row.value, "base64url");
}
