export {
  createPgliteDb,
  createPostgresDb,
  type Db,
  DriverFailureError,
  POSTGRES_DEFAULTS,
  PoolTimeoutError,
  type PostgresOptions,
  wrapPglite,
} from "./client";
export { type MigrateOptions, migratePglite, migratePostgres, migrationsFolder } from "./migrate";
export { type OpenDatabaseOptions, openDatabase } from "./open";
export * as schema from "./schema";
