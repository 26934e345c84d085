/** The app's single decision of which database to use, made once at start-up. */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { createPostgresDb, type Db, wrapPglite } from "./client";
import { migratePglite, migratePostgres } from "./migrate";

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; when absent, the embedded PGlite database is used. */
  databaseUrl?: string;
  /** PGlite data folder, created and migrated on first use. */
  pgliteDir: string;
  poolSize?: number;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Db> {
  if (options.databaseUrl) {
    await migratePostgres(options.databaseUrl);
    return createPostgresDb(options.databaseUrl, { max: options.poolSize });
  }
  mkdirSync(options.pgliteDir, { recursive: true });
  const client = await PGlite.create(options.pgliteDir);
  await migratePglite(client);
  return wrapPglite(client);
}
