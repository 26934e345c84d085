export { createPgliteDb, createPostgresDb, type Db, wrapPglite } from "./client";
export { migratePglite, migratePostgres, migrationsFolder } from "./migrate";
export { type OpenDatabaseOptions, openDatabase } from "./open";
export * as schema from "./schema";
