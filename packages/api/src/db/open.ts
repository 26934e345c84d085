/** The app's single decision of which database to use, made once at start-up. */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { createPostgresDb, type Db, type PostgresOptions, wrapPglite } from "./client";
import { migratePglite, migratePostgres } from "./migrate";

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; when absent, the embedded PGlite database is used. */
  databaseUrl?: string;
  /** PGlite data folder, created and migrated on first use. */
  pgliteDir: string;
  /** The PostgreSQL pool: size, prepared statements and every bound on waiting. */
  postgres?: PostgresOptions;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Db> {
  if (options.databaseUrl) {
    await migratePostgres(options.databaseUrl, {
      connectTimeoutMs: options.postgres?.connectTimeoutMs,
    });
    const db = createPostgresDb(options.databaseUrl, options.postgres);
    await checkStartupParameters(db);
    return db;
  }
  mkdirSync(options.pgliteDir, { recursive: true });
  const client = await PGlite.create(options.pgliteDir);
  await migratePglite(client);
  return wrapPglite(client);
}

/**
 * The timeouts travel as startup parameters, which a connection pooler may refuse (PgBouncer
 * does unless told otherwise): say so at start, with the fix, rather than fail every request.
 */
async function checkStartupParameters(db: Db): Promise<void> {
  try {
    await db.execute(sql`select 1`);
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (cause?.code === "08P01" && /startup parameter/.test(String(cause.message))) {
      await db.$close();
      throw new Error(
        `The database (or a pooler in front of it) refused a connection: ${cause.message}. Behind PgBouncer, add "ignore_startup_parameters = statement_timeout, lock_timeout" to pgbouncer.ini and set both timeouts on the database role instead, or set DATABASE_STATEMENT_TIMEOUT_MS=0 and DATABASE_LOCK_TIMEOUT_MS=0 (see README, Scaling out).`,
      );
    }
    throw error;
  }
}
