/** `pnpm db:migrate`: applies the committed migrations to DATABASE_URL (or to PGLITE_DIR). */
import { resolve } from "node:path";
import { migratePostgres, openDatabase } from "../src/db";

const databaseUrl = process.env.DATABASE_URL || undefined;
const pgliteDir = resolve(
  import.meta.dirname,
  "..",
  "..",
  "..",
  process.env.PGLITE_DIR || ".data/pglite",
);
const target = databaseUrl ? "PostgreSQL (DATABASE_URL)" : `embedded PGlite in ${pgliteDir}`;
console.log(`Applying migrations to ${target}...`);
try {
  // One transaction under a transaction-level lock: this works on a direct connection and
  // through a pooler in transaction mode alike (src/db/migrate.ts).
  if (databaseUrl) await migratePostgres(databaseUrl);
  else await (await openDatabase({ pgliteDir })).$close();
  console.log("Migrations are up to date.");
} catch (error) {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
