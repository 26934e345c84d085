/**
 * One database per test file, on the driver the Vitest project names (TEST_DRIVER): an
 * in-memory PGlite, or a fresh PostgreSQL database created on TEST_DATABASE_URL's server and
 * dropped afterwards. The driver is chosen explicitly, never by falling back.
 */
import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import {
  createPostgresDb,
  type Db,
  migratePglite,
  migratePostgres,
  wrapPglite,
} from "../../src/db";

export interface TestDatabase {
  db: Db;
  driver: "pglite" | "postgres";
  /** A connection string to the same database (PostgreSQL only), for more pools or processes. */
  url?: string;
  truncate(): Promise<void>;
  close(): Promise<void>;
}

export const testDriver = (): "pglite" | "postgres" => {
  const driver = process.env.TEST_DRIVER ?? "pglite";
  if (driver !== "pglite" && driver !== "postgres")
    throw new Error(`Unknown TEST_DRIVER ${driver}`);
  return driver;
};

async function truncateAll(db: Db): Promise<void> {
  await db.execute(sql`truncate table organizations restart identity cascade`);
}

export function withDatabaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (testDriver() === "pglite") {
    const client = await PGlite.create();
    await migratePglite(client);
    const db = wrapPglite(client);
    return { db, driver: "pglite", truncate: () => truncateAll(db), close: () => db.$close() };
  }
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error("TEST_DRIVER=postgres needs TEST_DATABASE_URL");
  const database = await createPostgresDatabase(base, "taskport_test");
  const db = createPostgresDb(database.url, { max: 10 });
  return {
    db,
    driver: "postgres",
    url: database.url,
    truncate: () => truncateAll(db),
    async close() {
      await db.$close();
      await database.drop();
    },
  };
}

/** A fresh, migrated database on the PostgreSQL server of `base`, dropped by `drop()`. */
export async function createPostgresDatabase(
  base: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = withDatabaseUrl(base, name);
  try {
    await migratePostgres(url);
  } catch (error) {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
    throw error;
  }
  return {
    url,
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}
