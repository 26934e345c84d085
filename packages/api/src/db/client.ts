/**
 * One factory per driver, both returning the same `Db`: postgres.js for PostgreSQL in
 * production, PGlite (PostgreSQL compiled to WASM, in-process) as the embedded default.
 *
 * On PostgreSQL every wait on the database is bounded, so that a database that is down,
 * frozen or behind a network black hole answers an interactive request in seconds:
 * - connecting (TCP, TLS and authentication): `connectTimeoutMs`;
 * - waiting for one of the pool's connections: `poolTimeoutMs` (the pool below);
 * - each statement, on the server: `statement_timeout` and `lock_timeout`, set per
 *   connection as startup parameters;
 * - the server's silence while a query awaits its answer: `answerTimeoutMs`, a client-side
 *   deadline for what the server's own timeouts cannot see (a frozen server, a dead network
 *   path where TCP stays up). The connection is then destroyed, its queries fail, and the
 *   pool opens a new one on next use. postgres.js has no such deadline: it comes from the
 *   project's patch of the driver (patches/postgres@3.4.9.patch), which also makes a
 *   failure inside the driver, or a connection lost in the middle of a transaction, end that
 *   request and that connection instead of the process.
 */
import { PGlite } from "@electric-sql/pglite";
import { E_TIMEOUT, Semaphore, withTimeout } from "async-mutex";
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
  /**
   * Named prepared statements (postgres.js's and Drizzle's `.prepare(name)`). Off for a
   * connection pooler in transaction mode that does not track them (PgBouncer before 1.21,
   * or without `max_prepared_statements`): there a statement prepared on one server
   * connection is executed on another.
   */
  prepare?: boolean;
  /** Opening a connection, TLS and authentication included. */
  connectTimeoutMs?: number;
  /** Waiting for a free connection of the pool before the request fails. */
  poolTimeoutMs?: number;
  /** The server's `statement_timeout`; 0 sends none (a pooler that refuses it). */
  statementTimeoutMs?: number;
  /** The server's `lock_timeout`; 0 sends none. */
  lockTimeoutMs?: number;
  /** How long the server may stay silent while a query awaits its answer. */
  answerTimeoutMs?: number;
  /** Where the pool reports what an operator must know (a misconfigured pooler). */
  warn?: (message: string) => void;
}

/** Defaults for an interactive API: a request that waits on the database fails in seconds. */
export const POSTGRES_DEFAULTS = {
  max: 10,
  prepare: true,
  connectTimeoutMs: 2_000,
  poolTimeoutMs: 2_000,
  statementTimeoutMs: 5_000,
  lockTimeoutMs: 4_000,
  answerTimeoutMs: 6_000,
} as const satisfies Required<Omit<PostgresOptions, "warn">>;

/** No connection of the pool became free within `poolTimeoutMs`: nothing was sent. */
export class PoolTimeoutError extends Error {
  readonly code = "POOL_TIMEOUT";
  constructor(readonly timeoutMs: number) {
    super(`No database connection became free within ${timeoutMs} ms.`);
    this.name = "PoolTimeoutError";
  }
}

/**
 * A query failed inside the driver rather than in the database (no SQLSTATE, no connection
 * code). When that happens while reading the server's answer, the connection is also closed.
 */
export class DriverFailureError extends Error {
  readonly code = "DRIVER_FAILURE";
  constructor(cause: unknown) {
    super("The database driver failed.", { cause });
    this.name = "DriverFailureError";
  }
}

// Between reconnection attempts: short and capped, so that a process serves again within a
// fraction of a second of the database's return (the driver's default grows to 20 s).
const backoff = (retries: number) => Math.min(0.5, 0.025 * 2 ** retries) * (0.5 + Math.random());

export function createPostgresDb(url: string, options: PostgresOptions = {}): Db {
  const o = { ...POSTGRES_DEFAULTS, ...definedOnly(options) };
  const connection: Record<string, string> = {};
  if (o.statementTimeoutMs > 0) connection.statement_timeout = String(o.statementTimeoutMs);
  if (o.lockTimeoutMs > 0) connection.lock_timeout = String(o.lockTimeoutMs);
  const client = postgres(url, {
    max: o.max,
    prepare: o.prepare,
    onnotice: () => {},
    connect_timeout: o.connectTimeoutMs / 1000,
    answer_timeout: o.answerTimeoutMs / 1000,
    backoff,
    connection,
  });
  const db = drizzlePostgres({
    client: boundedPool(client, o.max, o.poolTimeoutMs, options.warn),
    schema,
    casing: "snake_case",
  });
  return Object.assign(db, {
    $driver: "postgres" as const,
    $close: () => client.end({ timeout: 5 }),
  }) as unknown as Db;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type Sql = postgres.Sql;

/**
 * The client Drizzle (and the job system) sees: every query, transaction and reserved
 * connection first takes one of `slots` (the pool's size), waiting at most `timeoutMs`. The
 * driver is thus never asked for more than it has connections, so it neither queues queries
 * where no deadline can reach them nor pipelines them behind a slow one; a request that
 * cannot get a connection fails with nothing sent.
 */
function boundedPool(
  client: Sql,
  slots: number,
  timeoutMs: number,
  warn: ((message: string) => void) | undefined,
): Sql {
  const semaphore = withTimeout(new Semaphore(slots), timeoutMs);
  let warnedPrepared = false;
  const acquire = async () => {
    try {
      const [, release] = await semaphore.acquire();
      return release;
    } catch (error) {
      throw error === E_TIMEOUT ? new PoolTimeoutError(timeoutMs) : error;
    }
  };
  const classify = (error: unknown): unknown => {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "26000" && !warnedPrepared && warn) {
      warnedPrepared = true;
      warn(
        "PostgreSQL answered 'prepared statement does not exist': a connection pooler in transaction mode without prepared-statement support sits in between. Set DATABASE_PREPARE=false (see README, Scaling out).",
      );
    }
    if (error instanceof Error && typeof code !== "string") {
      warn?.(`The database driver failed: ${error.stack}`);
      return new DriverFailureError(error);
    }
    return error;
  };
  const unsafe = (query: string, params?: unknown[], queryOptions?: object) =>
    new PooledQuery(async (raw) => {
      const release = await acquire();
      try {
        const pending = client.unsafe(
          query,
          params as postgres.ParameterOrJSON<never>[],
          queryOptions,
        );
        return await (raw ? pending.values() : pending);
      } catch (error) {
        throw classify(error);
      } finally {
        release();
      }
    });
  // What a transaction throws is its callback's own error or the driver's: left as it is.
  const begin = async (...args: unknown[]) => {
    const release = await acquire();
    try {
      return await (client.begin as (...a: unknown[]) => Promise<unknown>)(...args);
    } finally {
      release();
    }
  };
  // A reserved connection (the job system's multi-statement texts) holds its slot until it is
  // released.
  const reserve = async () => {
    const release = await acquire();
    try {
      const reserved = await client.reserve();
      const releaseConnection = reserved.release;
      let released = false;
      reserved.release = () => {
        if (released) return;
        released = true;
        releaseConnection();
        release();
      };
      return reserved;
    } catch (error) {
      release();
      throw classify(error);
    }
  };
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "unsafe") return unsafe;
      if (property === "begin") return begin;
      if (property === "reserve") return reserve;
      return Reflect.get(target, property, receiver);
    },
  });
}

/** What `unsafe()` returns to Drizzle: awaited once, optionally as value arrays. */
class PooledQuery implements PromiseLike<unknown> {
  private raw = false;
  private result: Promise<unknown> | undefined;
  constructor(private readonly run: (raw: boolean) => Promise<unknown>) {}
  values(): this {
    this.raw = true;
    return this;
  }
  // biome-ignore lint/suspicious/noThenProperty: Drizzle awaits what unsafe() returns, as it would a postgres.js query
  then<A = unknown, B = never>(
    onfulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.result ??= this.run(this.raw);
    return this.result.then(onfulfilled, onrejected);
  }
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
