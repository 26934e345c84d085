/**
 * Applies the committed migrations in `packages/api/drizzle`.
 *
 * On PostgreSQL everything happens in one transaction that first takes a transaction-level
 * advisory lock, then reads which migrations are applied (Drizzle's own bookkeeping table,
 * `drizzle.__drizzle_migrations`) and applies the rest. Several server processes may start
 * at once: the lock lets one migrate while the others wait, then find nothing left to do.
 * Nothing depends on the session, so this works through a connection pooler in transaction
 * mode (PgBouncer) as well as on a direct connection; a session-level lock would not (the
 * pooler may run the lock and the migrations on different server connections).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePgliteDb } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";

// A folder path built from the file's own location (bundlers reject `new URL()` on a folder).
export const migrationsFolder = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "drizzle",
);

const MIGRATION_LOCK = 7_224_411;

export interface MigrateOptions {
  /** Opening the connection; the migrations themselves have no time limit. */
  connectTimeoutMs?: number;
}

export async function migratePostgres(url: string, options: MigrateOptions = {}): Promise<void> {
  const migrations = readMigrationFiles({ migrationsFolder });
  // No prepared statements (a pooler may not keep them) and no startup parameters (a pooler
  // may refuse them).
  const client = postgres(url, {
    max: 1,
    prepare: false,
    onnotice: () => {},
    connect_timeout: (options.connectTimeoutMs ?? 10_000) / 1000,
  });
  try {
    await drizzlePostgres({ client }).transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      // Timeouts a database role may carry for the application do not apply to migrations.
      await tx.execute(
        sql`select set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true)`,
      );
      await tx.execute(sql`create schema if not exists drizzle`);
      await tx.execute(sql`create table if not exists drizzle.__drizzle_migrations (
        id serial primary key, hash text not null, created_at bigint)`);
      const [last] = await tx.execute<{ created_at: string | null }>(
        sql`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`,
      );
      const appliedUntil = last?.created_at == null ? undefined : Number(last.created_at);
      for (const migration of migrations) {
        if (appliedUntil !== undefined && migration.folderMillis <= appliedUntil) continue;
        for (const statement of migration.sql) await tx.execute(sql.raw(statement));
        await tx.execute(sql`insert into drizzle.__drizzle_migrations (hash, created_at)
          values (${migration.hash}, ${migration.folderMillis})`);
      }
    });
  } finally {
    await client.end({ timeout: 5 });
  }
}

export async function migratePglite(client: PGlite): Promise<void> {
  await migratePgliteDb(drizzlePglite({ client }), { migrationsFolder });
}
