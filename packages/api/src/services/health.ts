import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { organizations } from "../db/schema";

export interface Health {
  status: "ok" | "unavailable";
  database: Db["$driver"];
}

/** A query that reads a Taskport table, so a database that answers but is not migrated fails. */
export async function checkDatabase(db: Db): Promise<Health> {
  try {
    await db.select({ one: sql`1` }).from(organizations).limit(1);
    return { status: "ok", database: db.$driver };
  } catch {
    return { status: "unavailable", database: db.$driver };
  }
}
