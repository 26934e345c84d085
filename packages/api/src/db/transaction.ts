/**
 * A transaction as a `Db`: services take a `Db` and run the same code inside a caller's
 * transaction (an idempotency key's, an import's). Closing it is the transaction's business.
 */
import type { Db } from "./client";

export function transactionDb(tx: unknown, db: Db): Db {
  return Object.assign(tx as object, { $driver: db.$driver, $close: async () => {} }) as Db;
}
