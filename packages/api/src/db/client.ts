/**
 * One factory per driver, both returning the same `Db`: postgres.js for PostgreSQL in
 * production, PGlite (PostgreSQL compiled to WASM, in-process) as the embedded default.
 */
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema";

export type Schema = typeof schema;

export type Db = PgDatabase<PgQueryResultHKT, Schema> & {
  readonly $driver: "postgres" | "pglite";
  $close(): Promise<void>;
};

export interface PostgresOptions {
  /** Pool size of this process; the server's total is this times its processes. */
  max?: number;
}

export function createPostgresDb(url: string, options: PostgresOptions = {}): Db {
  const client = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // Fail fast when the server is unreachable instead of queueing requests forever.
    connect_timeout: 10,
  });
  const db = drizzlePostgres({ client, schema, casing: "snake_case" });
  return Object.assign(db, {
    $driver: "postgres" as const,
    $close: () => client.end({ timeout: 5 }),
  }) as unknown as Db;
}

/** `dir` is a data folder (created when missing); without it the database lives in memory. */
export function createPgliteDb(dir?: string): Db {
  const client = new PGlite(dir);
  return wrapPglite(client);
}

export function wrapPglite(client: PGlite): Db {
  const db = drizzlePglite({ client, schema, casing: "snake_case" });
  return Object.assign(db, {
    $driver: "pglite" as const,
    $close: () => client.close(),
  }) as unknown as Db;
}
