/**
 * Prepared queries for the hot path, built once per database. Building a query with Drizzle
 * costs more CPU than PostgreSQL spends running these lookups (a CPU profile under load put
 * Drizzle's query building at about a fifth of the server's time), so the queries every
 * request runs are built once, with placeholders, and only executed afterwards.
 *
 * On PostgreSQL, `.prepare(name)` also asks postgres.js to use a named server-side prepared
 * statement for the query. With prepared statements off (`prepare: false` on the client,
 * DATABASE_PREPARE=false, for poolers that do not track them) postgres.js's client-wide
 * setting wins: the query is still built once here, but runs as an unnamed statement.
 */
import type { Db } from "./client";

const cache = new WeakMap<Db, Map<string, unknown>>();

export function prepared<T>(db: Db, name: string, build: (db: Db) => T): T {
  let queries = cache.get(db);
  if (!queries) {
    queries = new Map();
    cache.set(db, queries);
  }
  let query = queries.get(name) as T | undefined;
  if (query === undefined) {
    query = build(db);
    queries.set(name, query);
  }
  return query;
}
