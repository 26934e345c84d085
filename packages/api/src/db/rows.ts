/**
 * The rows of a raw `db.execute(...)`, whichever the driver: postgres.js answers an array of
 * rows, PGlite an object that holds them in `rows`.
 */
import type { SQL } from "drizzle-orm";
import type { Db } from "./client";

export async function executeRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
