/**
 * The health check: one query that reads a Taskport table (so a database that answers but is
 * not migrated fails), bounded so that the check itself answers within about a second
 * whatever the database does; load balancers and probes rely on that.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { organizations } from "../db/schema";

export interface Health {
  status: "ok" | "unavailable";
  database: Db["$driver"];
}

/** A database that has not answered by then counts as unavailable. */
export const HEALTH_TIMEOUT_MS = 1_000;

export async function checkDatabase(db: Db): Promise<Health> {
  let timer: NodeJS.Timeout | undefined;
  // The query itself stays bounded by the pool's own deadlines; only the answer is not
  // waited for past HEALTH_TIMEOUT_MS.
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS);
  });
  const query = db
    .select({ one: sql`1` })
    .from(organizations)
    .limit(1)
    .then(
      () => true,
      () => false,
    );
  try {
    const ok = await Promise.race([query, timedOut]);
    return { status: ok ? "ok" : "unavailable", database: db.$driver };
  } finally {
    clearTimeout(timer);
  }
}
