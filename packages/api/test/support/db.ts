/**
 * One database per test file, on the driver the Vitest project names (TEST_DRIVER): an
 * in-memory PGlite, or a fresh PostgreSQL database created on TEST_DATABASE_URL's server and
 * dropped afterwards. The driver is chosen explicitly, never by falling back. Both start as a
 * copy of what the run's global setup migrated (./migrated.ts) when it did, else migrate.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { inject } from "vitest";
import {
  createPostgresDb,
  type Db,
  migratePglite,
  migratePostgres,
  wrapPglite,
} from "../../src/db";

declare module "vitest" {
  export interface ProvidedContext {
    /** Provided by ./migrated.ts: a file holding a dump (tar) of a migrated PGlite data folder. */
    migratedPgliteDump?: string;
    /** A migrated database on the server of `base` (TEST_DATABASE_URL), to create databases from. */
    migratedPostgresTemplate?: { base: string; name: string };
  }
}

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

/** What the global setup provided (nothing outside Vitest, where `inject` throws). */
function provided<K extends "migratedPgliteDump" | "migratedPostgresTemplate">(key: K) {
  return process.env.VITEST ? inject(key) : undefined;
}

async function createPglite(): Promise<PGlite> {
  const dump = provided("migratedPgliteDump");
  if (dump) return PGlite.create({ loadDataDir: new Blob([await readFile(dump)]) });
  const client = await PGlite.create();
  await migratePglite(client);
  return client;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (testDriver() === "pglite") {
    const client = await createPglite();
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

/**
 * A fresh, migrated database on the PostgreSQL server of `base`, dropped by `drop()`: a copy
 * of the global setup's template when it made one on this server, else migrated here.
 */
export async function createPostgresDatabase(
  base: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  const migrated = provided("migratedPostgresTemplate");
  const template =
    migrated && new URL(migrated.base).host === new URL(base).host ? migrated.name : undefined;
  await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ""}`);
  const url = withDatabaseUrl(base, name);
  try {
    if (!template) await migratePostgres(url);
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
