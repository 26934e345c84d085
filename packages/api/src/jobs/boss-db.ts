/**
 * pg-boss on Taskport's own database connection, for both drivers: pg-boss accepts any object
 * with `executeSql(text, values)` (its "bring your own database" option), so it shares the
 * app's postgres.js pool or its PGlite instance instead of opening a `pg` pool of its own.
 *
 * pg-boss was written for node-postgres, whose conventions these adapters reproduce: values
 * are serialized as `pg` does (objects as JSON text, dates as ISO strings), and a text without
 * values may hold several statements (its migrations and its maintenance run as one
 * `BEGIN; ...; COMMIT;` string).
 */
import type { PGlite } from "@electric-sql/pglite";
import { type SQL, sql } from "drizzle-orm";
import type { Sql } from "postgres";
import type { Db } from "../db/client";

export interface BossDb {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** A value as node-postgres would send it. */
function pgValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !Buffer.isBuffer(value)
  )
    return JSON.stringify(value);
  return value;
}

function clientOf<T>(db: Db): T {
  return (db as unknown as { $client: T }).$client;
}

/** pg-boss on the database's own pool (PostgreSQL) or instance (PGlite). */
export function bossDbFor(db: Db): BossDb {
  if (db.$driver === "pglite") {
    const client = clientOf<PGlite>(db);
    return {
      async executeSql(text, values) {
        if (!values || values.length === 0) {
          // exec() runs every statement of the text on PGlite's single connection. Inside
          // transaction(), which holds PGlite's lock until it ends, a failure within the text's
          // own BEGIN is rolled back before any other query can meet the aborted transaction.
          const results = await client.transaction((tx) => tx.exec(text));
          return { rows: (results.at(-1)?.rows ?? []) as Record<string, unknown>[] };
        }
        const result = await client.query(text, values.map(pgValue));
        return { rows: result.rows as Record<string, unknown>[] };
      },
    };
  }
  const client = clientOf<Sql>(db);
  return {
    async executeSql(text, values) {
      if (!values || values.length === 0) {
        // A multi-statement transaction must run on one connection: postgres.js refuses a bare
        // BEGIN on a shared pool, so it gets a reserved one for the length of the text.
        // A statement failing inside the text's own BEGIN (a deadlock, say) leaves that
        // transaction open and aborted; it is rolled back before the connection returns to the
        // pool, where every later query would otherwise fail with 25P02.
        const connection = await client.reserve();
        try {
          return { rows: lastResult(await connection.unsafe(text)) };
        } catch (error) {
          await connection.unsafe("ROLLBACK").catch(() => {});
          throw error;
        } finally {
          connection.release();
        }
      }
      const rows = await client.unsafe(text, values.map(pgValue) as never[]);
      return { rows: lastResult(rows) };
    },
  };
}

/** postgres.js answers a multi-statement text with one result per statement. */
function lastResult(result: unknown): Record<string, unknown>[] {
  const list = result as unknown[];
  // A single statement's RowList carries `count`; the list of several statements' results does not.
  if (!("count" in list) && list.length > 0 && list.every((r) => Array.isArray(r)))
    return [...((list.at(-1) as Record<string, unknown>[]) ?? [])];
  return [...(list as Record<string, unknown>[])];
}

/**
 * pg-boss inside a Drizzle transaction, for a single statement with values (`send` with the
 * `db` option): the job is then created, or not, with the rows written beside it.
 */
export function bossDbInTransaction(tx: Db): BossDb {
  return {
    async executeSql(text, values = []) {
      const result = await tx.execute(withParams(text, values.map(pgLiteral)));
      const rows = Array.isArray(result)
        ? result
        : ((result as unknown as { rows: unknown[] }).rows ?? []);
      return { rows: [...rows] as Record<string, unknown>[] };
    },
  };
}

/** A value as node-postgres sends it, arrays included (as array literals). */
function pgLiteral(value: unknown): unknown {
  if (!Array.isArray(value)) return pgValue(value);
  const items = value.map((item) => {
    if (item === null || item === undefined) return "NULL";
    const text = String(pgLiteral(item));
    return Array.isArray(item) ? text : `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  });
  return `{${items.join(",")}}`;
}

/**
 * `$1`-style placeholders as Drizzle parameters. A placeholder used twice must stay one
 * parameter (PostgreSQL infers one type per parameter), so repeats refer back to the number
 * Drizzle gave the first occurrence: Drizzle numbers parameters in order of appearance.
 */
function withParams(text: string, values: unknown[]): SQL {
  const chunks: SQL[] = [];
  const numbered = new Map<number, number>();
  let last = 0;
  for (const match of text.matchAll(/\$(\d+)/g)) {
    const index = Number(match[1]) - 1;
    if (index < 0 || index >= values.length) continue;
    chunks.push(sql.raw(text.slice(last, match.index)));
    const number = numbered.get(index);
    if (number === undefined) {
      numbered.set(index, numbered.size + 1);
      chunks.push(sql`${values[index]}`);
    } else {
      chunks.push(sql.raw(`$${number}`));
    }
    last = match.index + match[0].length;
  }
  chunks.push(sql.raw(text.slice(last)));
  return sql.join(chunks);
}
