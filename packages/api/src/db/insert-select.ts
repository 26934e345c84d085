/**
 * INSERT ... SELECT with the column list taken from the Drizzle table. Drizzle writes the
 * INSERT's column list (every insertable column, in the table's order); `selectList` writes
 * the SELECT's expressions in that same order from a record that must name every insertable
 * column, so a column added to the table is a type error here rather than a misaligned insert
 * at run time.
 */
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";

/**
 * One SQL expression per column of `table`. Identity columns are listed too (Drizzle writes
 * them in the INSERT's column list; a GENERATED ALWAYS one then needs overridingSystemValue()).
 */
export type InsertExpressions<T extends PgTable> = { [K in keyof T["_"]["columns"]]-?: SQL };

/** The SELECT list matching Drizzle's INSERT column list for `table`. */
export function selectList<T extends PgTable>(table: T, values: InsertExpressions<T>): SQL {
  const expressions = Object.entries(getTableColumns(table))
    // Drizzle's own test for the columns it leaves out of an INSERT: computed ones.
    .filter(([, column]) => column.generated === undefined || column.generated.type === "byDefault")
    .map(([key]) => (values as Record<string, SQL>)[key] as SQL);
  return sql.join(expressions, sql`, `);
}
